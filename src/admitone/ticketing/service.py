"""The use cases of ticketing other domains and the boundaries call (domains meet here only)."""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.ticketing import repository
from admitone.ticketing.access import order_access_token
from admitone.ticketing.billing_profiles import (
    ProfileCheck,
    register_billing_profile_check,
    require_billing_profile,
)
from admitone.ticketing.cancellation import cancel_order
from admitone.ticketing.errors import OrderNotPaid, OrderNotPayable
from admitone.ticketing.expiry import expire_order, orders_due_for_expiry
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.memberships import MembershipLookup, register_membership_lookup
from admitone.ticketing.models import REVENUE_STATUSES, Order, OrderLine, OrderStatus
from admitone.ticketing.purchase.checkout import Buyer, checkout_request
from admitone.ticketing.purchase.flow import pay_order, purchase
from admitone.ticketing.purchase.flow import settle_payment as settle
from admitone.ticketing.purchase.request import ProductItem, PurchaseRequest, PurchaseResult
from admitone.ticketing.purchase.settle import (
    PaymentOutcome,
    SuccessResult,
    fail_order,
    outcome_of,
    record_success,
)
from admitone.ticketing.refunds import (
    complete_refund,
    external_refund_ref,
    record_refund_by_id,
    record_refund_made_elsewhere,
    refuse_payment,
    schedule_refund,
)
from admitone.ticketing.repository import (
    OrderPayment,
    Viewer,
    by_payment_reference,
    list_for_buyer,
    list_for_event,
    lock_if_paid,
    order_by_reference,
    order_for_viewer,
    order_ids_of_buyer,
    payment_of,
    to_reconcile,
)
from admitone.ticketing.tickets_pdf import order_tickets_pdf
from admitone.ticketing.topics import order_message
from admitone.ticketing.topics import user_topic as orders_topic_of
from admitone.ticketing.transitions import OrderHook, register_order_hook

__all__ = [
    "REVENUE_STATUSES",
    "Buyer",
    "MembershipLookup",
    "Order",
    "OrderHook",
    "OrderLine",
    "OrderNotPayable",
    "OrderPayment",
    "OrderStatus",
    "PaymentOutcome",
    "ProductItem",
    "ProfileCheck",
    "PurchaseRequest",
    "PurchaseResult",
    "SuccessResult",
    "Viewer",
    "by_payment_reference",
    "cancel_order",
    "charge_key",
    "checkout_request",
    "complete_refund",
    "event_has_paid_orders",
    "expire_order",
    "external_refund_ref",
    "fail_order",
    "list_for_buyer",
    "list_for_event",
    "lock_if_paid",
    "order_access_token",
    "order_by_reference",
    "order_for_viewer",
    "order_ids_of_buyer",
    "order_message",
    "orders_due_for_expiry",
    "orders_topic_of",
    "outcome_of",
    "paid_tickets_pdf",
    "pay_order",
    "payment_of",
    "purchase",
    "record_refund_by_id",
    "record_refund_made_elsewhere",
    "record_success",
    "refuse_payment",
    "register_billing_profile_check",
    "register_membership_lookup",
    "register_order_hook",
    "require_billing_profile",
    "schedule_refund",
    "settle",
    "to_reconcile",
]


async def event_has_paid_orders(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Whether the event has an order line with a price (such an event cannot be
    deleted). Free orders do not count."""
    return await repository.event_has_paid_lines(uow, event_id)


async def paid_tickets_pdf(uow: UnitOfWork, order: Order) -> bytes:
    """The PDF of a paid order's tickets (lines and tickets loaded); 409 for any other order."""
    if order.status != OrderStatus.PAID or not order.tickets:
        raise OrderNotPaid(details={"status": order.status})
    return order_tickets_pdf(order, await events_service.get_event_snapshot(uow, order.event_id))
