"""What the shop registers with the rest of the process at import time (``admitone.wiring``):
its pub/sub topics, and its part of an event's deletion (events cannot import the shop: that
would be a cycle). The event's products are soft-deleted in the deletion's own transaction, and
announced as deleted by its follow-up job."""

from __future__ import annotations

from admitone.events import service as events_service
from admitone.shop import (
    erasure,  # noqa: F401  (its personal data claim)
    topics,
)
from admitone.shop.catalog import announce_products_of_deleted_event, delete_products_of_event

events_service.register_delete_step(delete_products_of_event)
events_service.register_after_delete(announce_products_of_deleted_event)

__all__ = ["topics"]
