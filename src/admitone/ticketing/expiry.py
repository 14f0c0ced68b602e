"""Payment timeout: a pending order past its deadline becomes ``expired`` and returns its
capacity, by a job scheduled at the deadline and by a sweeping cron for any the job missed.
The move is conditional on ``pending``, so an expiry and a payment racing for the same order
settle it exactly one way (a payment that loses is refunded, see ``purchase.settle``)."""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.jobs import service as jobs_service
from admitone.ticketing import repository
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.transitions import announce, cancel_payment_later, release_capacity

EXPIRE_ORDER_JOB = "ticketing.expire_order"


async def schedule_expiry(uow: UnitOfWork, *orders: Order) -> None:
    """An expiry job per new pending order, due at its deadline (one INSERT for them all)."""
    await jobs_service.enqueue_many(
        uow,
        EXPIRE_ORDER_JOB,
        [
            jobs_service.NewJob(
                {"order_id": str(order.id)},
                run_at=order.expires_at,
                unique_key=f"{EXPIRE_ORDER_JOB}:{order.id}",
            )
            for order in orders
        ],
    )


async def expire_order(
    uow: UnitOfWork, order_id: uuid.UUID, *, payment_cancelled: bool = False
) -> bool:
    """Expire the order if it is still pending and past its deadline; True if this call did.
    Its payment intent is then cancelled by a job, unless ``payment_cancelled`` says the
    caller has already done so."""
    won = await repository.transition(
        uow,
        order_id,
        {OrderStatus.PENDING},
        OrderStatus.EXPIRED,
        where=Order.expires_at <= uow.clock.now(),
    )
    if won:
        order = await repository.get_order(uow, order_id)
        await release_capacity(uow, order)
        await announce(uow, order, "expired")
        if not payment_cancelled:
            await cancel_payment_later(uow, order)
    return won


async def orders_due_for_expiry(uow: UnitOfWork, *, limit: int = 500) -> list[uuid.UUID]:
    return await repository.due_for_expiry(uow, limit=limit)
