"""Live topics of orders' money, published from ticketing's order hook (queued in the
transaction of the change, sent only after it commits):

- ``billing:orders``: ticketing publishes every change of an order to staff and to the buyer's
  ``:user:{user_id}``; the organizer of the order's event gets the changes that move money
  (paid, cancelled, refunded in full or in part) on theirs from here.
- ``billing:transactions``: the money that moved with it (a payment, a refund), for staff, the
  buyer and the organizer.

Payloads carry ids, statuses, amounts and currencies, never the buyer's name or email. Amounts
are minor units; a transaction's is signed from the buyer's side as on their statement
(``GET /api/me/transactions``): a payment is negative, a refund positive.
"""

from __future__ import annotations

import uuid

from admitone.billing import transactions
from admitone.billing.transactions import TransactionKind
from admitone.core.db import UnitOfWork
from admitone.core.errors import NotFound
from admitone.events import service as events_service
from admitone.ledger import service as ledger_service
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import Topic, owner_or_staff, staff, topic
from admitone.ticketing import service as ticketing_service

TRANSACTIONS = topic(
    "billing:transactions", staff(), "Every payment and refund of an order as it moves (staff)."
)
USER_TRANSACTIONS = topic(
    "billing:transactions:user:{user_id}",
    owner_or_staff(),
    "Payments and refunds of one user's orders, as buyer or as the event's organizer "
    "(that user and staff).",
)

# The changes of an order that move money (ticketing names its message ``order_<change>``).
MONEY_CHANGES = frozenset({"paid", "cancelled", "refunded", "partially_refunded"})
_REFUNDS = frozenset({"refunded", "partially_refunded"})
_REFUND_KINDS = frozenset(
    kind for kind, what in transactions.ORDER_KINDS.items() if what.name == TransactionKind.REFUND
)


async def on_order_change(uow: UnitOfWork, order: ticketing_service.Order, change: str) -> None:
    if change not in MONEY_CHANGES:
        return
    organizer_id = await _organizer(uow, order.event_id)
    if organizer_id is not None and organizer_id != order.buyer_user_id:
        realtime_service.publish(
            uow,
            ticketing_service.orders_topic_of(organizer_id),
            f"order_{change}",
            ticketing_service.order_message(order),
        )
    readers = {one for one in (order.buyer_user_id, organizer_id) if one is not None}
    moved = await _money_moved(uow, order, change)
    if moved is not None:
        kind, payload = moved
        _publish(
            uow,
            TRANSACTIONS.name(),
            user_topic=USER_TRANSACTIONS,
            readers=readers,
            message_type=kind,
            payload=payload,
        )


async def _money_moved(
    uow: UnitOfWork, order: ticketing_service.Order, change: str
) -> tuple[str, dict[str, object]] | None:
    """A payment is the order's total (the purchase path reads nothing more); a refund is the
    ledger's newest refund entry of the order, the amount it posted. A cancel moves no money
    itself: its refund follows."""
    base: dict[str, object] = {
        "order_id": str(order.id),
        "event_id": str(order.event_id),
        "status": order.status,
        "currency": order.currency,
    }
    if change == "paid" and order.total_amount > 0:
        paid = {"transaction_id": None, "amount": -order.total_amount}
        return TransactionKind.PAYMENT, base | paid
    if change in _REFUNDS:
        entry = await ledger_service.latest_of_order(uow, order.id, _REFUND_KINDS)
        if entry is not None:
            return TransactionKind.REFUND, base | {
                "transaction_id": str(entry.id),
                "amount": entry.amount,
                "currency": entry.currency,
            }
    return None


async def _organizer(uow: UnitOfWork, event_id: uuid.UUID) -> uuid.UUID | None:
    """The event's organizer, read once per event and unit of work: a group commit pays dozens
    of one event's orders in one transaction."""
    known: dict[uuid.UUID, uuid.UUID | None] = uow.session.info.setdefault(
        "billing.organizer_of_event", {}
    )
    if event_id not in known:
        try:
            known[event_id] = await events_service.organizer_of(uow, event_id)
        except NotFound:
            known[event_id] = None  # a deleted event's refund still reaches its buyer
    return known[event_id]


def _publish(
    uow: UnitOfWork,
    staff_topic: str,
    *,
    user_topic: Topic,
    readers: set[uuid.UUID],
    message_type: str,
    payload: dict[str, object],
) -> None:
    realtime_service.publish(uow, staff_topic, message_type, payload)
    for user_id in sorted(readers, key=str):
        realtime_service.publish(uow, user_topic.name(user_id=user_id), message_type, payload)
