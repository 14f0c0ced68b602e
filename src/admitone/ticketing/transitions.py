"""Status changes of an order, and what each one owes the rest of the system.

Every change is one conditional UPDATE (``WHERE status IN (:expected)``): under concurrency
exactly one caller wins it, and only the winner releases capacity, issues or voids tickets,
records activity and publishes. Correct under PostgreSQL READ COMMITTED (the loser waits for
the winner's row lock, re-reads the row and matches nothing) and under SQLite (one writer).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, update

from admitone.activity import service as activity_service
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.ticketing import topics
from admitone.ticketing.models import Order, OrderStatus, Ticket, TicketStatus

CANCEL_PAYMENT_JOB = "ticketing.cancel_payment"


async def transition(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    expected: Collection[OrderStatus],
    to: OrderStatus,
    *,
    where: ColumnElement[bool] | None = None,
    **values: Any,
) -> bool:
    """Move the order to ``to`` if it is in one of ``expected`` (and ``where`` holds)."""
    stmt = (
        update(Order)
        .where(Order.id == order_id, Order.status.in_([s.value for s in expected]))
        .values(**{"status": to.value, "updated_at": uow.clock.now(), **values})
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    if where is not None:
        stmt = stmt.where(where)
    return await uow.session.scalar(stmt) is not None


def reserved_lines(order: Order) -> Mapping[uuid.UUID, int]:
    counts: Counter[uuid.UUID] = Counter()
    for line in order.lines:
        counts[line.tier_id] += line.quantity
    return dict(counts)


async def release_capacity(uow: UnitOfWork, order: Order) -> None:
    await events_service.release(uow, order.event_id, reserved_lines(order))


async def void_tickets(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(Ticket)
        .where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID.value)
        .values(status=TicketStatus.VOID.value, voided_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )


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
