"""What a status change of an order owes the rest of the system: capacity back, the activity
entry and message, the payment intent's cancel. The change itself is one conditional UPDATE
(``repository.transition``), and only the caller that wins it does any of this."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping

from admitone.activity import service as activity_service
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.posts import service as posts_service
from admitone.ticketing import topics
from admitone.ticketing.models import Order

CANCEL_PAYMENT_JOB = "ticketing.cancel_payment"


def reserved_lines(order: Order) -> Mapping[uuid.UUID, int]:
    counts: Counter[uuid.UUID] = Counter()
    for line in order.lines:
        counts[line.tier_id] += line.quantity
    return dict(counts)


async def release_capacity(uow: UnitOfWork, order: Order) -> None:
    """Give back what a live order holds: its seats and its coupon use. Every way out of a live
    status comes through here (expiry, failure, cancellation, refund), so a refunded order gives
    its coupon use back too: a coupon's uses are the live orders holding it, the same invariant
    as seats, and the ledger reverses the discounted revenue with the refund."""
    if order.coupon_id is not None:
        # Before the event's counters, in the order a purchase takes them (coupon, then event
        # and tiers), so a release and a purchase never wait for each other's locks in a cycle.
        await posts_service.release_coupon(uow, order.id)
    await events_service.release(uow, order.event_id, reserved_lines(order))


async def announce(uow: UnitOfWork, order: Order, change: str, **extra: str | int | bool) -> None:
    """Record ``ticketing.order_<change>`` (PII-free metadata) and publish the order."""
    await activity_service.record(
        uow,
        f"ticketing.order_{change}",
        resource_type="order",
        resource_uuid=order.id,
        metadata={
            "order_uuid": order.id,
            "event_uuid": order.event_id,
            "status": order.status,
            "amount": order.total_amount,
            "currency": order.currency,
            "quantity": order.quantity,
            "reference": order.reference,
            **extra,
        },
    )
    topics.publish_order(uow, order, change)


async def cancel_payment_later(uow: UnitOfWork, order: Order) -> None:
    """An order that left ``pending`` unpaid keeps a payment intent the buyer may still confirm
    (a declined card takes another try): a job cancels it at the gateway, outside any
    transaction (rule 4), enqueued with the change so that both commit or vanish together."""
    if order.payment_reference is None or order.total_amount == 0:
        return
    await jobs_service.enqueue(
        uow,
        CANCEL_PAYMENT_JOB,
        {"order_id": str(order.id)},
        unique_key=f"{CANCEL_PAYMENT_JOB}:{order.id}",
    )
