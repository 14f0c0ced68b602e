"""An order's money movements, posted to the ledger in the transaction of the status change that
caused them (the caller's), so an order and its journal entries commit or vanish together.

Every posting is keyed by the gateway's own id (the charge for a payment and its fee, the refund
for a refund), so a replayed webhook or a retried job posts nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.tax import split
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.ledger import service as ledger
from admitone.ticketing import repository
from admitone.ticketing.models import Order

RECORD_FEE_JOB = "ticketing.record_fee"
# Stripe reports the fee on the charge's balance transaction, which may lag the payment itself.
FEE_RETRY_DELAY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Captured:
    order: Order
    charge_id: str
    amount: int
    fee: int | None
    actor: Actor  # whose purchase it is, for the activity log


async def payments_captured(uow: UnitOfWork, captured: Sequence[Captured]) -> None:
    """Orders became ``paid``: revenue of their events, and the gateway's fees as expenses, all
    posted together (one savepoint for a batch of purchases)."""
    organizers: dict[uuid.UUID, uuid.UUID] = {}
    for one in captured:
        if one.order.event_id not in organizers:
            organizers[one.order.event_id] = await _organizer(uow, one.order)
    await ledger.post(
        uow,
        ledger.Movement.PAYMENT_CAPTURED,
        [
            ledger.Transfer(
                organizer_id=organizers[one.order.event_id],
                event_id=one.order.event_id,
                order_id=one.order.id,
                amount=one.amount,
                currency=one.order.currency,
                gateway_ref=one.charge_id,
                fee=_known(one.fee),
                actor=one.actor,
                **_payment_shares(one.order, one.amount),
            )
            for one in captured
        ],
    )
    for one in captured:
        await _fee_later(uow, one.order, charge_id=one.charge_id, fee=one.fee)


async def late_payment(
    uow: UnitOfWork,
    order: Order,
    *,
    charge_id: str,
    amount: int,
    fee: int | None,
    currency: str | None = None,
) -> None:
    """Money arrived for an order that could no longer take it: owed back, never revenue. The
    gateway still keeps its fee, so that is posted too. ``currency``: the payment's, when it is
    not the order's (a payment refused for its currency)."""
    await _post(
        uow,
        ledger.Movement.LATE_PAYMENT,
        order,
        amount=amount,
        currency=currency or order.currency,
        gateway_ref=charge_id,
        fee=_known(fee),
    )
    await _fee_later(uow, order, charge_id=charge_id, fee=fee)


async def refund_issued(
    uow: UnitOfWork, order: Order, *, refund_id: str, amount: int | None
) -> int:
    """Post a refund of the order's revenue and count it on the order, once per refund; answers
    what was posted. The caller holds the order's row (a conditional update of it won) and read
    ``order`` after, so checking and counting are one step.

    ``amount`` None: a refund known only from the charge's total refunded, without its own
    amount: all of the payment not counted yet. A refund that would count past the total was
    already counted in such a posting, so nothing is posted for it."""
    left = order.total_amount - order.refunded_amount
    wanted = left if amount is None else amount
    if not 0 < wanted <= left or await ledger.refund_posted(uow, refund_id):
        return 0
    await _post(
        uow,
        ledger.Movement.REFUND,
        order,
        amount=wanted,
        currency=order.currency,
        gateway_ref=refund_id,
        **_refund_shares(order, wanted),
    )
    await repository.add_refunded(uow, order.id, wanted)
    return wanted


async def late_payment_refunded(
    uow: UnitOfWork, order: Order, *, refund_id: str, amount: int, currency: str | None = None
) -> None:
    await _post(
        uow,
        ledger.Movement.LATE_PAYMENT_REFUNDED,
        order,
        amount=amount,
        currency=currency or order.currency,
        gateway_ref=refund_id,
    )


async def processing_fee(
    uow: UnitOfWork, order: Order, *, charge_id: str, fee: int, currency: str
) -> None:
    """The gateway's fee on a charge, in the charge's ``currency``."""
    if _known(fee) is None:
        return
    await _post(
        uow,
        ledger.Movement.PROCESSING_FEE,
        order,
        amount=fee,
        currency=currency,
        gateway_ref=charge_id,
    )


async def _post(
    uow: UnitOfWork,
    movement: ledger.Movement,
    order: Order,
    *,
    amount: int,
    currency: str,
    gateway_ref: str,
    fee: int | None = None,
    products: int = 0,
    tax: int = 0,
) -> None:
    """One order's ``movement``, as the current actor."""
    transfer = ledger.Transfer(
        organizer_id=await _organizer(uow, order),
        event_id=order.event_id,
        order_id=order.id,
        amount=amount,
        currency=currency,
        gateway_ref=gateway_ref,
        fee=fee,
        products=products,
        tax=tax,
    )
    await ledger.post(uow, movement, [transfer])


def products_total(order: Order) -> int:
    """What the order's shop product lines brought in, in minor units: net of their share of a
    coupon's discount and of their tax, as revenue is booked net of both."""
    return sum(line.net for line in order.lines if not line.is_ticket)


def _revenue(order: Order) -> list[int]:
    """The order's gross as the ledger splits it: product revenue, tax owed, ticket revenue
    (what is left). The order of the list is the order ``core.tax.split`` rounds in."""
    products, tax = products_total(order), order.tax_total
    return [products, tax, max(order.total_amount - products - tax, 0)]


def _payment_shares(order: Order, amount: int) -> dict[str, int]:
    """A payment's products and tax; one that is not the order's total (never expected: the
    charge is for the total) keeps both within it."""
    products, tax, _ = _revenue(order)
    tax = min(tax, amount)
    return {"products": min(products, amount - tax), "tax": tax}


def _refund_shares(order: Order, amount: int) -> dict[str, int]:
    """A refund of ``amount`` takes products, tax and tickets back in proportion to the order's
    gross, counted on what all refunds so far gave back (``core.tax.split``): partial refunds
    round down each time yet a full refund takes exactly what each brought in, and none is ever
    left negative."""
    totals = _revenue(order)
    if sum(totals) != order.total_amount or order.total_amount == 0:
        return {"products": 0, "tax": 0}
    products, tax, _ = split(totals, order.refunded_amount, amount)
    return {"products": products, "tax": tax}


def _known(fee: int | None) -> int | None:
    """The fee to post now, if any: a zero fee is no movement, and the ledger refuses an empty
    entry."""
    return fee if fee is not None and fee > 0 else None


async def _fee_later(uow: UnitOfWork, order: Order, *, charge_id: str, fee: int | None) -> None:
    if fee is not None:
        return
    # Not known yet: a job asks the gateway for it later (never inside this transaction).
    await jobs_service.enqueue(
        uow,
        RECORD_FEE_JOB,
        {"order_id": str(order.id), "charge_id": charge_id},
        run_at=uow.clock.now() + FEE_RETRY_DELAY,
        unique_key=f"{RECORD_FEE_JOB}:{charge_id}",
    )


async def _organizer(uow: UnitOfWork, order: Order) -> uuid.UUID:
    return await events_service.organizer_of(uow, order.event_id)
