"""The shared kernel: database, errors, money, ids, clock, pagination, security, actor context."""
