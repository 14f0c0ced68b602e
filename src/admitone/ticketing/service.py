"""The use cases of ticketing other domains and the boundaries call (domains meet here only)."""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.ticketing import queries
from admitone.ticketing.cancellation import cancel_order
from admitone.ticketing.checkout import PurchaseRequest, PurchaseResult, place_order, purchase
from admitone.ticketing.confirmation import pay_order
from admitone.ticketing.errors import OrderNotPayable
from admitone.ticketing.expiry import expire_order, orders_due_for_expiry
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.models import REVENUE_STATUSES, OrderStatus
from admitone.ticketing.payment_lookup import (
    OrderPayment,
    by_payment_reference,
    payment_of,
    to_reconcile,
)
from admitone.ticketing.queries import (
    Viewer,
    list_for_buyer,
    list_for_event,
    order_by_reference,
    order_for_viewer,
)
from admitone.ticketing.refunds import (
    complete_refund,
    external_refund_ref,
    record_refund_by_id,
    record_refund_made_elsewhere,
    refuse_payment,
    schedule_refund,
)
from admitone.ticketing.settlement import (
    PaymentOutcome,
    SuccessResult,
    fail_order,
    mark_paid,
    outcome_of,
    record_success,
    settle,
)

__all__ = [
    "REVENUE_STATUSES",
    "OrderNotPayable",
    "OrderPayment",
    "OrderStatus",
    "PaymentOutcome",
    "PurchaseRequest",
    "PurchaseResult",
    "SuccessResult",
    "Viewer",
    "by_payment_reference",
    "cancel_order",
    "charge_key",
    "complete_refund",
    "event_has_paid_orders",
    "expire_order",
    "external_refund_ref",
    "fail_order",
    "list_for_buyer",
    "list_for_event",
    "mark_paid",
    "order_by_reference",
    "order_for_viewer",
    "orders_due_for_expiry",
    "outcome_of",
    "pay_order",
    "payment_of",
    "place_order",
    "purchase",
    "record_refund_by_id",
    "record_refund_made_elsewhere",
    "record_success",
    "refuse_payment",
    "schedule_refund",
    "settle",
    "to_reconcile",
]


async def event_has_paid_orders(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Whether the event has an order line with a price (seed 004: such an event cannot be
    deleted). Free orders do not count."""
    return await queries.event_has_paid_lines(uow, event_id)
