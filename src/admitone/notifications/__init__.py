"""Email: senders (SMTP, console, memory), templates, and the email log."""
