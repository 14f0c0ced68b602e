"""Pub/sub topics of orders: the billing order topics, for staff and for the buyer.

Messages carry no personal data (no email, no name): a page that needs more asks the API.
"""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import owner_or_staff, staff, topic
from admitone.ticketing.models import Order

ALL_ORDERS = topic("billing:orders", staff(), "Every order as it changes (staff).")
USER_ORDERS = topic(
    "billing:orders:user:{user_id}",
    owner_or_staff(),
    "The orders of one user as they change: bought, or (paid, cancelled, refunded) of an "
    "event they organize, published by billing (that user and staff).",
)


def publish_order(uow: UnitOfWork, order: Order, change: str) -> None:
    """Buffer ``order_<change>`` on the staff topic and the buyer's; sent after commit."""
    payload = order_message(order)
    kind = f"order_{change}"
    realtime_service.publish(uow, ALL_ORDERS.name(), kind, payload)
    if order.buyer_user_id is not None:
        realtime_service.publish(uow, user_topic(order.buyer_user_id), kind, payload)


def user_topic(user_id: uuid.UUID) -> str:
    return USER_ORDERS.name(user_id=user_id)


def order_message(order: Order) -> dict[str, object]:
    return {
        "order_id": str(order.id),
        "reference": order.reference,
        "event_id": str(order.event_id),
        "status": order.status,
        "quantity": order.quantity,
        "total_amount": order.total_amount,
        "currency": order.currency,
    }
