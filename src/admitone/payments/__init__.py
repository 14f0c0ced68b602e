"""Payments: the gateway protocol the rest of admitone talks to, and a stateful fake of it."""
