"""What billing registers with the rest of the process at import time (``admitone.wiring``):
its job handlers, its pub/sub topics, and its reaction to orders' changes, which ticketing runs
in the transaction of each change (ticketing cannot import billing: that would be a cycle)."""

from __future__ import annotations

from admitone.billing import jobs, subscription_events, topics
from admitone.billing.invoices import on_order_change
from admitone.payments.subscriptions import register_subscription_handler
from admitone.ticketing import service as ticketing_service

ticketing_service.register_order_hook(on_order_change)
register_subscription_handler(subscription_events.apply)

__all__ = ["jobs", "topics"]
