"""The double-entry ledger: every money movement of an organizer, as balanced journal entries."""
