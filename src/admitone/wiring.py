"""Imports every domain module that registers something at import time (job handlers, cron
entries, pub/sub topics), so that a process sees them all. The composition root imports it."""
