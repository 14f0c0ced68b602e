"""Cancel an order (``POST /api/orders/{id}/cancel``).

A pending order is cancelled and its capacity returned (its payment intent is cancelled by a
job; a charge still in flight for it is then refunded when it lands). A paid order moves to
``refunding`` with one conditional update (so of many racing cancels exactly one starts the
refund), its tickets stop being valid at once, the gateway refunds it outside any transaction
with the order's own idempotency key, and a last short transaction settles it ``refunded`` and
returns the capacity.

Who may: the buyer (signed in, or with the order's token), within the event's refund policy
for a paid order (until the start by default, an earlier deadline, or never: 409
``refund_window_closed`` / ``refunds_not_allowed``); the event's organizer and staff at any
time, giving a ``reason_code`` whenever they go beyond what the buyer could do. That code, not
the free-text note, goes to the activity log.

Double cancel: a cancel that finds the order already ``refunding`` joins that refund (the same
idempotency key, so the money moves once) and answers the final state; one that finds it
cancelled, refunded, failed or expired answers 409 ``order_not_cancellable``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.errors import DomainError
from admitone.events import service as events_service
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import refunds, repository
from admitone.ticketing.errors import (
    CancelReasonRequired,
    OrderNotCancellable,
    OrderNotFound,
    RefundsNotAllowed,
    RefundWindowClosed,
)
from admitone.ticketing.models import CancelReason, Order, OrderStatus
from admitone.ticketing.repository import Viewer
from admitone.ticketing.transitions import announce, cancel_payment_later, release_capacity

MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class _Cancel:
    note: str | None
    # What the activity entry records beyond the change: the manager's reason when the cancel
    # went beyond the buyer's rights (``forced``).
    extra: dict[str, str | bool]
    # Why the buyer could not have the money back now, unless a manager overrides it.
    refusal: DomainError | None


async def cancel_order(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    order_id: uuid.UUID,
    viewer: Viewer,
    reason: str | None = None,
    *,
    reason_code: CancelReason | None = None,
) -> Order:
    """A flow: the cancel in one short transaction, then, when a refund is due, the refund's
    own steps (the gateway called outside any transaction, rule 4)."""
    async with open_uow() as uow:
        order = await _cancel(uow, order_id, viewer, reason, reason_code)
    if order.status == OrderStatus.REFUNDING:
        return await refunds.complete_refund(open_uow, gateway, order_id)
    return order


async def _cancel(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    viewer: Viewer,
    reason: str | None,
    reason_code: CancelReason | None,
) -> Order:
    """The order cancelled, or ``refunding`` with its refund owed, in the caller's
    transaction."""
    order, cancel = await _authorize(uow, order_id, viewer, reason, reason_code)
    if order.status == OrderStatus.PENDING:
        cancelled = await _cancel_outright(uow, order_id, OrderStatus.PENDING, cancel)
        if cancelled is not None:
            return cancelled
        order = await repository.get_order(uow, order_id)  # paid or expired meanwhile
    if order.status == OrderStatus.PAID and cancel.refusal is not None:
        raise cancel.refusal  # paid while the buyer was cancelling it, past the window
    if order.status == OrderStatus.PAID and order.total_amount == 0:
        # Nothing was charged, so nothing goes back through the gateway: cancel it outright.
        cancelled = await _cancel_outright(uow, order_id, OrderStatus.PAID, cancel)
        if cancelled is not None:
            return cancelled
        order = await repository.get_order(uow, order_id)
    if order.status == OrderStatus.PAID:
        if await repository.transition(
            uow,
            order_id,
            {OrderStatus.PAID},
            OrderStatus.REFUNDING,
            cancel_reason=cancel.note,
            cancelled_at=uow.clock.now(),
            refund_due=True,
        ):
            await repository.void_tickets(uow, order_id)
            order = await repository.get_order(uow, order_id)
            await announce(uow, order, "cancelled", partial=False, **cancel.extra)
            # If this process dies before the refund below, the job finishes it.
            await refunds.schedule_refund(uow, order_id)
        else:
            order = await repository.get_order(uow, order_id)  # cancelled or refunding meanwhile
    if order.status == OrderStatus.REFUNDING:
        return order
    raise OrderNotCancellable(
        f"This order is {order.status} and can no longer be cancelled.",
        details={"status": order.status, "reference": order.reference},
    )


async def _authorize(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    viewer: Viewer,
    reason: str | None,
    reason_code: CancelReason | None,
) -> tuple[Order, _Cancel]:
    """The order and what its cancel may do, or the refusal: someone who is neither its buyer
    nor a manager of its event gets 404, as for any order they cannot see."""
    order = await repository.find_for_viewer(
        uow, order_id, repository.as_buyer(viewer), tickets=False
    )
    is_buyer = order is not None
    if order is None:
        order = await repository.get_order(uow, order_id)  # 404 when there is none
    # None once deleted, which only an event without paid orders can be.
    event = await events_service.load_snapshot(uow, order.event_id)
    manages = viewer.is_staff or (
        event is not None and viewer.user_id is not None and event.organizer_id == viewer.user_id
    )
    if not (is_buyer or manages):
        raise OrderNotFound()
    refusal = _refund_refusal(event, order, uow.clock.now()) if is_buyer and event else None
    # A manager goes beyond the buyer's rights on someone else's order, or past the window.
    forced = order.status in _CANCELLABLE and (
        not is_buyer or (refusal is not None and order.status == OrderStatus.PAID)
    )
    if forced and not manages:
        assert refusal is not None
        raise refusal
    if forced and reason_code is None:
        raise CancelReasonRequired(field="reason_code")
    note = (reason or "").strip()[:MAX_REASON_LENGTH] or None
    extra: dict[str, str | bool] = (
        {"reason": str(reason_code), "forced": True} if forced and reason_code else {}
    )
    return order, _Cancel(note, extra, None if forced else refusal)


_CANCELLABLE = frozenset({OrderStatus.PENDING, OrderStatus.PAID})


def _refund_refusal(
    event: events_service.EventSnapshot, order: Order, now: datetime
) -> DomainError | None:
    """What a buyer's cancel of this order, were it paid, meets now: nothing within the event's
    refund window; a free order (no money back) until the event starts."""
    closes = event.starts_at if order.total_amount == 0 else event.refunds_until
    if closes is None:
        return RefundsNotAllowed(details={"reference": order.reference})
    if now >= closes:
        return RefundWindowClosed(
            f"Cancelling this order for a refund closed at {closes.isoformat()}; the organizer "
            "can still cancel it.",
            details={"reference": order.reference, "refunds_until": closes.isoformat()},
        )
    return None


async def _cancel_outright(
    uow: UnitOfWork, order_id: uuid.UUID, expected: OrderStatus, cancel: _Cancel
) -> Order | None:
    """``expected`` -> ``cancelled`` with no money to give back: its tickets (a paid order's)
    void, its capacity returned and its payment intent (a pending order's) cancelled. None
    when the order was no longer ``expected``."""
    if not await repository.transition(
        uow,
        order_id,
        {expected},
        OrderStatus.CANCELLED,
        cancel_reason=cancel.note,
        cancelled_at=uow.clock.now(),
    ):
        return None
    if expected == OrderStatus.PAID:
        await repository.void_tickets(uow, order_id)
    order = await repository.get_order(uow, order_id, tickets=True)
    await release_capacity(uow, order)
    await announce(uow, order, "cancelled", **cancel.extra)
    if expected == OrderStatus.PENDING:
        await cancel_payment_later(uow, order)
    return order


async def cancel_pending_of_deleted_buyer(uow: UnitOfWork, order_id: uuid.UUID) -> bool:
    """A pending order whose buyer's account is being deleted, cancelled through the same
    transition as any other (its seats, stock and coupon use given back, its payment intent
    cancelled by a job); False when it was no longer pending."""
    cancel = _Cancel(note=None, extra={"reason": "account_deleted"}, refusal=None)
    return await _cancel_outright(uow, order_id, OrderStatus.PENDING, cancel) is not None
