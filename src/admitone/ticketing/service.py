"""The use cases of ticketing other domains and the boundaries call (domains meet here only)."""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.ticketing import queries
from admitone.ticketing.cancellation import cancel_order
from admitone.ticketing.checkout import PurchaseRequest, PurchaseResult, place_order, purchase
from admitone.ticketing.confirmation import pay_order
from admitone.ticketing.expiry import expire_order, orders_due_for_expiry
from admitone.ticketing.queries import (
    Viewer,
    list_for_buyer,
    list_for_event,
    order_by_reference,
    order_for_viewer,
)
from admitone.ticketing.refunds import complete_refund
from admitone.ticketing.settlement import PaymentOutcome, mark_paid, outcome_of, settle

__all__ = [
    "PaymentOutcome",
    "PurchaseRequest",
    "PurchaseResult",
    "Viewer",
    "cancel_order",
    "complete_refund",
    "event_has_paid_orders",
    "expire_order",
    "list_for_buyer",
    "list_for_event",
    "mark_paid",
    "order_by_reference",
    "order_for_viewer",
    "orders_due_for_expiry",
    "outcome_of",
    "pay_order",
    "place_order",
    "purchase",
    "settle",
]


async def event_has_paid_orders(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Whether the event has an order line with a price (seed 004: such an event cannot be
    deleted). Free orders do not count."""
    return await queries.event_has_paid_lines(uow, event_id)
