"""Step 3: settle. The gateway's answer is applied to orders in the caller's transaction: a
succeeded payment marks a batch of orders ``paid`` (one writer of the paid columns, for a
purchase alone, a group commit, a webhook and reconciliation alike), a decline leaves the order
``pending`` for another card, anything else compensates it (``failed``, its seats back). Money
that arrives for an order that can no longer take it is owed back, never kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.actor import Actor, current_actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import sha256_hex
from admitone.payments.gateway import CANCELED, Charge, ChargeStatus
from admitone.ticketing import books, refunds, repository
from admitone.ticketing.access import order_access_token
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.purchase.confirm import Paid, complete_paid
from admitone.ticketing.transitions import announce, cancel_payment_later, release_capacity


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    status: Literal["succeeded", "failed", "requires_action", "unknown"]
    charge_id: str | None = None
    reason: str | None = None
    client_secret: str | None = None
    payment_method: str | None = None
    amount: int | None = None  # what the gateway took, when it says
    fee: int | None = None  # its processing fee, once known


def outcome_of(charge: Charge) -> PaymentOutcome:
    status: Literal["succeeded", "failed", "requires_action"] = (
        "succeeded"
        if charge.status is ChargeStatus.SUCCEEDED
        else "requires_action"
        if charge.status is ChargeStatus.REQUIRES_ACTION
        else "failed"
    )
    return PaymentOutcome(
        status,
        charge_id=charge.id,
        reason=charge.failure_reason or ("card_declined" if status == "failed" else None),
        client_secret=charge.client_secret,
        payment_method=charge.payment_method,
        amount=charge.amount,
        fee=charge.fee,
    )


@dataclass(frozen=True, slots=True)
class SuccessResult:
    """What a succeeded payment did to its order: ``paid`` it, found it ``already_paid`` by
    this very charge (a replay), or found it no longer payable, so the money is owed back
    (``late``: posted to the ledger as a late payment, its refund job enqueued)."""

    order: Order
    effect: Literal["paid", "already_paid", "late"]


@dataclass(frozen=True, slots=True)
class Paying:
    """An order to mark paid: as this process placed it (then it is not read again), or only
    its id (a webhook, reconciliation)."""

    order: Order | uuid.UUID
    payment: PaymentOutcome | None  # None: nothing to charge (a free order)
    actor: Actor  # whose purchase it is, for the activity log
    access_token: str | None = None  # the guest's, when this process made it

    @property
    def order_id(self) -> uuid.UUID:
        return self.order if isinstance(self.order, uuid.UUID) else self.order.id


async def pay_orders(
    uow: UnitOfWork, settings: Settings, items: Sequence[Paying]
) -> list[Order | None]:
    """``pending`` -> ``paid`` for a batch, with tickets, ledger postings, announcements and
    confirmation jobs, in the caller's transaction. None for an order no longer pending (it
    expired or was cancelled)."""
    now = uow.clock.now()
    columns = {item.order_id: _paid_columns(settings, item) for item in items}
    won = await repository.mark_paid(uow, columns, now)
    paid: list[Paid] = []
    answers: list[Order | None] = []
    for item in items:
        if item.order_id not in won:
            answers.append(None)
            continue
        if isinstance(item.order, Order):
            # Still pending when the transition won, so nothing but the transition changed it.
            order = item.order
            changes = {**repository.paid_columns(now), **columns[item.order_id]}
            for name, value in changes.items():
                set_committed_value(order, name, value)
        else:
            order = await repository.get_order(uow, item.order_id)
        payment = item.payment
        paid.append(
            Paid(
                order,
                payment.charge_id if payment else None,
                payment.amount if payment else None,
                payment.fee if payment else None,
                item.actor,
            )
        )
        answers.append(order)
    if paid:
        await complete_paid(uow, paid, now)
    return answers


def _paid_columns(settings: Settings, item: Paying) -> dict[str, str | None]:
    # The token is derived, not stored, so settling later (a webhook, reconciliation) puts the
    # very token the guest already holds in the email instead of replacing it.
    token = item.access_token or order_access_token(settings, item.order_id)
    return {
        "payment_reference": item.payment.charge_id if item.payment else None,
        "payment_method": item.payment.payment_method if item.payment else None,
        "access_token_hash": sha256_hex(token),
    }


async def record_success(
    uow: UnitOfWork,
    settings: Settings,
    order_id: uuid.UUID,
    outcome: PaymentOutcome,
    *,
    access_token: str | None = None,
    placed: Order | None = None,
) -> SuccessResult:
    """Apply a succeeded charge to its order in the caller's transaction, without calling the
    gateway (webhooks and reconciliation call this; the refund of a late payment is a job).
    ``placed``: the order as this process placed and committed it, not to be read again."""
    charge_id = outcome.charge_id
    assert charge_id is not None
    [paid] = await pay_orders(
        uow,
        settings,
        [Paying(placed or order_id, outcome, current_actor(), access_token=access_token)],
    )
    if paid is not None:
        return SuccessResult(paid, "paid")
    order = await repository.get_order(uow, order_id, tickets=True)
    if order.payment_reference == charge_id and order.status in _SETTLED_BY_PAYMENT:
        return SuccessResult(order, "already_paid")
    # Expired, cancelled or failed while the charge was in flight: it can no longer be paid.
    await books.late_payment(
        uow,
        order,
        charge_id=charge_id,
        amount=outcome.amount or order.total_amount,
        fee=outcome.fee,
    )
    await owe_refund(uow, order_id, charge_id=charge_id)
    return SuccessResult(await repository.get_order(uow, order_id, tickets=True), "late")


_SETTLED_BY_PAYMENT = frozenset(
    {OrderStatus.PAID.value, OrderStatus.REFUNDING.value, OrderStatus.REFUNDED.value}
)


async def fail_order(
    uow: UnitOfWork, order_id: uuid.UUID, reason: str, *, unknown: bool = False
) -> Order:
    """Compensate: ``failed``, the capacity back and its payment intent cancelled (by a job).
    With ``unknown`` (a timeout) the money may have moved anyway, so the order is also marked
    as owing a refund, checked after a delay."""
    won = await repository.transition(
        uow, order_id, {OrderStatus.PENDING}, OrderStatus.FAILED, failure_reason=reason
    )
    order = await repository.get_order(uow, order_id, tickets=True)
    if won:
        await release_capacity(uow, order)
        await announce(uow, order, "failed", reason=reason)
        if reason != CANCELED:
            await cancel_payment_later(uow, order)
    if not unknown:
        return order
    await repository.owe_refund(uow, order_id, charge_id=None)
    await refunds.schedule_refund(uow, order_id, delay=refunds.RECONCILE_DELAY)
    return await repository.get_order(uow, order_id, tickets=True)  # refund_due has changed


async def owe_refund(uow: UnitOfWork, order_id: uuid.UUID, *, charge_id: str | None) -> None:
    """The money of ``charge_id`` goes back: the order owes it, and its refund job is due."""
    await repository.owe_refund(uow, order_id, charge_id=charge_id)
    await refunds.schedule_refund(uow, order_id)
