"""Cancel an order (``POST /api/orders/{id}/cancel``).

A pending order is cancelled and its capacity returned (a charge still in flight for it is then
refunded when it lands). A paid order moves to ``refunding`` with one conditional update (so of
many racing cancels exactly one starts the refund), its tickets stop being valid at once, the
gateway refunds it outside any transaction with the order's own idempotency key, and a last
short transaction settles it ``refunded`` and returns the capacity.

Double cancel: a cancel that finds the order already ``refunding`` joins that refund (the same
idempotency key, so the money moves once) and answers the final state; one that finds it
cancelled, refunded, failed or expired answers 409 ``order_not_cancellable``.
"""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import queries, refunds
from admitone.ticketing.errors import OrderNotCancellable
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.queries import Viewer
from admitone.ticketing.transitions import (
    announce,
    cancel_payment_later,
    release_capacity,
    transition,
    void_tickets,
)

MAX_REASON_LENGTH = 500


async def cancel_order(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    order_id: uuid.UUID,
    viewer: Viewer,
    reason: str | None = None,
) -> Order:
    """Spans transactions when a refund is due (rule 4): commits before calling the gateway."""
    order = await queries.order_for_viewer(uow, order_id, viewer, tickets=False)
    note = (reason or "").strip()[:MAX_REASON_LENGTH] or None
    if order.status == OrderStatus.PENDING:
        cancelled = await _cancel_outright(uow, order_id, OrderStatus.PENDING, note)
        if cancelled is not None:
            return cancelled
        order = await queries.get_order(uow, order_id)  # paid or expired meanwhile
    if order.status == OrderStatus.PAID and order.total_amount == 0:
        # Nothing was charged, so nothing goes back through the gateway: cancel it outright.
        cancelled = await _cancel_outright(uow, order_id, OrderStatus.PAID, note)
        if cancelled is not None:
            return cancelled
        order = await queries.get_order(uow, order_id)
    if order.status == OrderStatus.PAID:
        if await transition(
            uow,
            order_id,
            {OrderStatus.PAID},
            OrderStatus.REFUNDING,
            cancel_reason=note,
            cancelled_at=uow.clock.now(),
            refund_due=True,
        ):
            await void_tickets(uow, order_id)
            order = await queries.get_order(uow, order_id)
            await announce(uow, order, "cancelled", partial=False)
            # If this process dies before the refund below, the job finishes it.
            await refunds.schedule_refund(uow, order_id)
        else:
            order = await queries.get_order(uow, order_id)  # cancelled or refunding meanwhile
    if order.status == OrderStatus.REFUNDING:
        await uow.commit()
        return await refunds.complete_refund(uow, gateway, order_id)
    raise OrderNotCancellable(
        f"This order is {order.status} and can no longer be cancelled.",
        details={"status": order.status, "reference": order.reference},
    )


async def _cancel_outright(
    uow: UnitOfWork, order_id: uuid.UUID, expected: OrderStatus, note: str | None
) -> Order | None:
    """``expected`` -> ``cancelled`` with no money to give back: its tickets (a paid order's)
    void and its capacity returned. None when the order was no longer ``expected``."""
    if not await transition(
        uow,
        order_id,
        {expected},
        OrderStatus.CANCELLED,
        cancel_reason=note,
        cancelled_at=uow.clock.now(),
    ):
        return None
    if expected == OrderStatus.PAID:
        await void_tickets(uow, order_id)
    order = await queries.get_order(uow, order_id, tickets=True)
    await release_capacity(uow, order)
    await announce(uow, order, "cancelled")
    if expected == OrderStatus.PENDING:
        await cancel_payment_later(uow, order)
    return order
