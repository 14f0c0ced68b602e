"""The PII-safe activity (audit) log."""
