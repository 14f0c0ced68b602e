"""Pub/sub (in-memory or Redis) and Server-Sent Event streams."""
