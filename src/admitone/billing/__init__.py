"""Billing: billing profiles, invoices and credit notes (taxes, memberships and transactions
are to join it)."""
