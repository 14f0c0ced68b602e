"""Ticketing: orders, their lines and tickets; purchase, payment, expiry and cancellation."""
