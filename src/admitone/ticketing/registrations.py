"""What ticketing registers with the rest of the process at import time (``admitone.wiring``):
its job handlers and cron entry, its pub/sub topics, and the order check that stops an event
with paid orders from being deleted (events cannot import ticketing: that would be a cycle)."""

from __future__ import annotations

from admitone.events import service as events_service
from admitone.ticketing import (
    erasure,  # noqa: F401  (its personal data claim)
    jobs,
    topics,
)
from admitone.ticketing.service import event_has_paid_orders

events_service.register_order_checker(event_has_paid_orders)

__all__ = ["jobs", "topics"]
