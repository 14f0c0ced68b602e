"""The third step of a purchase: the gateway has answered (outside any transaction) and the
order is settled, ``paid`` with its tickets and confirmation email, left ``pending`` after a
decline (its payment intent takes another card until the order expires), or compensated,
``failed`` with its capacity returned. Also what happens when the money arrives for an order
that can no longer take it: it is refunded, never kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.actor import Actor, acting_as, current_actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_secret, sha256_hex
from admitone.core.money import Money
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.notifications import service as notifications_service
from admitone.payments.errors import GatewayError, GatewayTimeout
from admitone.payments.gateway import (
    CANCELED,
    Charge,
    ChargeRequest,
    ChargeStatus,
    PaymentGateway,
)
from admitone.ticketing import books, queries, refunds
from admitone.ticketing.access import order_access_token
from admitone.ticketing.errors import (
    OrderNoLongerPayable,
    OrderNotCompleted,
    PaymentFailed,
    RefundFailed,
)
from admitone.ticketing.models import Order, OrderStatus, Ticket, TicketStatus
from admitone.ticketing.tickets_pdf import order_tickets_pdf
from admitone.ticketing.transitions import (
    announce,
    cancel_payment_later,
    release_capacity,
    transition,
)

log = structlog.get_logger(__name__)

CONFIRMATION_TEMPLATE = "order_confirmation"
CONFIRMATION_JOB = "ticketing.send_confirmation"
TICKET_CODE_BYTES = 16  # 128 bits


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    status: Literal["succeeded", "failed", "requires_action", "unknown"]
    charge_id: str | None = None
    reason: str | None = None
    client_secret: str | None = None
    payment_method: str | None = None
    amount: int | None = None  # what the gateway took, when it says
    fee: int | None = None  # its processing fee, once known


@dataclass(frozen=True, slots=True)
class SuccessResult:
    """What a succeeded payment did to its order: ``paid`` it, found it ``already_paid`` by
    this very charge (a replay), or found it no longer payable, so the money is owed back
    (``late``: posted to the ledger as a late payment, its refund job enqueued)."""

    order: Order
    effect: Literal["paid", "already_paid", "late"]


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


async def charge(gateway: PaymentGateway, request: ChargeRequest) -> PaymentOutcome:
    """Call the gateway. Never inside a transaction: no lock may wait on the network."""
    try:
        return outcome_of(await gateway.create_charge(request))
    except GatewayTimeout:
        return PaymentOutcome("unknown", reason="timeout")
    except GatewayError as exc:
        return PaymentOutcome("failed", reason=exc.code)


async def settle(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    outcome: PaymentOutcome,
    *,
    access_token: str | None = None,
    placed: Order | None = None,
) -> Order:
    """Apply the gateway's answer to a pending order. Raises ``PaymentFailed`` (402) after a
    decline (the order stays pending for another card) or after compensating a payment that
    cannot be retried or was not answered. ``placed``: the order as this unit of work placed
    and committed it, so a success need not read it back."""
    if outcome.status == "succeeded":
        assert outcome.charge_id is not None
        return await _settle_success(
            uow,
            gateway,
            settings,
            order_id,
            outcome=outcome,
            access_token=access_token,
            placed=placed,
        )
    if outcome.status == "requires_action":
        await _wait_for_payment(uow, order_id, outcome.charge_id)
        return await queries.get_order(uow, order_id, tickets=True)
    reason = outcome.reason or "payment_failed"
    details: dict[str, object] = {}
    if outcome.status == "failed" and outcome.charge_id is not None and reason != CANCELED:
        # Declined, but the payment intent takes another card (Stripe lets the buyer retry
        # it): the order keeps its seats until it expires, and then its intent is cancelled.
        await _wait_for_payment(uow, order_id, outcome.charge_id)
        order = await queries.get_order(uow, order_id, lines=False)
        if access_token is not None:
            # A guest pays the order again (``pay``) with its token: no other way to it yet.
            details["access_token"] = access_token
    else:
        order = await fail_order(uow, order_id, reason, unknown=outcome.status == "unknown")
    raise PaymentFailed(
        _failure_message(reason),
        details={
            "reason": reason,
            "order_id": str(order.id),
            "reference": order.reference,
            **details,
        },
    )


async def _wait_for_payment(uow: UnitOfWork, order_id: uuid.UUID, charge_id: str | None) -> None:
    """A pending order waits for its payment intent: kept as its payment reference, so that the
    buyer can confirm it (``pay``) and expiry can cancel it."""
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.PENDING.value)
        .values(payment_reference=charge_id, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )


async def fail_order(
    uow: UnitOfWork, order_id: uuid.UUID, reason: str, *, unknown: bool = False
) -> Order:
    """Compensate: ``failed``, the capacity back and its payment intent cancelled (by a job).
    With ``unknown`` (a timeout) the money may have moved anyway, so the order is also marked
    as owing a refund, checked after a delay."""
    won = await transition(
        uow, order_id, {OrderStatus.PENDING}, OrderStatus.FAILED, failure_reason=reason
    )
    order = await queries.get_order(uow, order_id, tickets=True)
    if won:
        await release_capacity(uow, order)
        await announce(uow, order, "failed", reason=reason)
        if reason != CANCELED:
            await cancel_payment_later(uow, order)
    if not unknown:
        return order
    await _owe_refund(uow, order_id, charge_id=None)
    await refunds.schedule_refund(uow, order_id, delay=refunds.RECONCILE_DELAY)
    return await queries.get_order(uow, order_id, tickets=True)  # refund_due has changed


async def mark_paid(
    uow: UnitOfWork,
    settings: Settings,
    order_id: uuid.UUID,
    *,
    charge_id: str | None,
    payment_method: str | None = None,
    access_token: str | None = None,
    amount: int | None = None,
    fee: int | None = None,
    placed: Order | None = None,
) -> Order | None:
    """``pending`` -> ``paid``, tickets issued, confirmation email enqueued and the payment
    posted to the ledger, in the caller's transaction. None when the order was no longer
    pending (it expired or was cancelled). ``placed``: see ``settle``."""
    now = uow.clock.now()
    # The token is derived, not stored, so settling later (a webhook, reconciliation) puts the
    # very token the guest already holds in the email instead of replacing it.
    token = access_token or order_access_token(settings, order_id)
    changes = {
        **paid_columns(now, charge_id, payment_method),
        "access_token_hash": sha256_hex(token),
    }
    won = await transition(uow, order_id, {OrderStatus.PENDING}, OrderStatus.PAID, **changes)
    if not won:
        return None
    if placed is None:
        order = await queries.get_order(uow, order_id)
    else:
        # Still pending when the transition won, so nothing but the transition changed it.
        order = placed
        for name, value in changes.items():
            set_committed_value(order, name, value)
    await complete_paid(uow, [Paid(order, charge_id, amount, fee, current_actor())], now)
    return order


def paid_columns(
    now: datetime, charge_id: str | None, payment_method: str | None
) -> dict[str, Any]:
    """The columns a ``pending`` -> ``paid`` transition sets."""
    return {
        "status": OrderStatus.PAID.value,
        "updated_at": now,
        "paid_at": now,
        "payment_reference": charge_id,
        "payment_method": payment_method,
    }


@dataclass(frozen=True, slots=True)
class Paid:
    """An order whose ``pending`` -> ``paid`` transition this transaction won."""

    order: Order
    charge_id: str | None  # None: nothing was charged (a free order)
    amount: int | None  # what the gateway took, when it says
    fee: int | None
    actor: Actor  # whose purchase it is, for the activity log


async def complete_paid(uow: UnitOfWork, paid: Sequence[Paid], now: datetime) -> None:
    """What paying owes, for one order or a batch: tickets, the ledger postings, the
    announcement and the confirmation email, in the caller's transaction."""
    issued = {one.order.id: new_tickets(one.order, now) for one in paid}
    uow.session.add_all([ticket for tickets in issued.values() for ticket in tickets])
    await uow.flush()
    captured = [
        books.Captured(
            one.order, one.charge_id, one.amount or one.order.total_amount, one.fee, one.actor
        )
        for one in paid
        if one.charge_id is not None and one.order.total_amount > 0
    ]
    if captured:
        await books.payments_captured(uow, captured)
    for one in paid:
        with acting_as(one.actor):
            await announce(uow, one.order, "paid")
    await schedule_confirmation(uow, *issued)
    for one in paid:
        # The order was current when its transition won, and the tickets just inserted are
        # all it has (a pending order has none): no need to read it again.
        set_committed_value(one.order, "tickets", issued[one.order.id])


def new_tickets(order: Order, now: datetime) -> list[Ticket]:
    """One valid ticket per admission the order's lines hold, each with its unguessable code."""
    return [
        Ticket(
            order_id=order.id,
            event_id=order.event_id,
            tier_id=line.tier_id,
            position=position,
            code=new_secret(TICKET_CODE_BYTES),
            status=TicketStatus.VALID.value,
            created_at=now,
        )
        for position, line in enumerate(line for line in order.lines for _ in range(line.quantity))
    ]


async def schedule_confirmation(uow: UnitOfWork, *order_ids: uuid.UUID) -> None:
    """Enqueue the confirmation emails of orders just paid, in the caller's transaction, the one
    that marks them paid: an order and its confirmation commit or vanish together. The PDF and
    the email rows are made by the job, outside the purchase request."""
    await jobs_service.enqueue_many(
        uow,
        CONFIRMATION_JOB,
        [
            jobs_service.NewJob(
                {"order_id": str(order_id)}, unique_key=f"{CONFIRMATION_JOB}:{order_id}"
            )
            for order_id in order_ids
        ],
        queue="emails",
    )


async def send_confirmation(uow: UnitOfWork, settings: Settings, order_id: uuid.UUID) -> bool:
    """The confirmation job's work: render the tickets PDF and log the email (whose delivery is
    its own job). Idempotent: an order already confirmed is not emailed twice. True if this
    call created the email."""
    emails = await notifications_service.emails_about(uow, "order", order_id)
    if any(email.template == CONFIRMATION_TEMPLATE for email in emails):
        return False
    order = await queries.get_order(uow, order_id, tickets=True)
    if order.paid_at is None:
        return False  # never paid (the job outlived a rolled-back settlement): nothing to confirm
    event = await events_service.get_event_snapshot(uow, order.event_id)
    token = order_access_token(settings, order.id)
    pdf = order_tickets_pdf(order, event)
    total = Money(order.total_amount, order.currency).to_decimal_string()
    await notifications_service.send_email(
        uow,
        to=order.customer_email,
        template=CONFIRMATION_TEMPLATE,
        context={
            "name": order.customer_name,
            "event_name": event.name,
            "venue": event.venue,
            "starts_at": event.starts_at.isoformat(),
            "reference": order.reference,
            "quantity": order.quantity,
            "total": f"{total} {order.currency}",
            "order_url": (
                f"{settings.public_url.rstrip('/')}/orders/{order.reference}?token={token}"
            ),
        },
        attachments=[(f"tickets-{order.reference}.pdf", "application/pdf", pdf)],
        related_type="order",
        related_id=order.id,
    )
    return True


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
    gateway (webhooks and reconciliation call this; the refund of a late payment is a job)."""
    charge_id = outcome.charge_id
    assert charge_id is not None
    paid = await mark_paid(
        uow,
        settings,
        order_id,
        charge_id=charge_id,
        payment_method=outcome.payment_method,
        access_token=access_token,
        amount=outcome.amount,
        fee=outcome.fee,
        placed=placed,
    )
    if paid is not None:
        return SuccessResult(paid, "paid")
    order = await queries.get_order(uow, order_id, tickets=True)
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
    await _owe_refund(uow, order_id, charge_id=charge_id)
    await refunds.schedule_refund(uow, order_id)
    return SuccessResult(await queries.get_order(uow, order_id, tickets=True), "late")


_SETTLED_BY_PAYMENT = frozenset(
    {OrderStatus.PAID.value, OrderStatus.REFUNDING.value, OrderStatus.REFUNDED.value}
)


async def _settle_success(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    *,
    outcome: PaymentOutcome,
    access_token: str | None,
    placed: Order | None,
) -> Order:
    try:
        result = await record_success(
            uow, settings, order_id, outcome, access_token=access_token, placed=placed
        )
    except Exception:
        # The money is in but the order could not be completed (its email could not be
        # enqueued, say). An order is never paid without its confirmation, and money is never
        # kept without an order: fail the order, give the seats back and refund in full.
        log.exception("settlement_failed", order_id=str(order_id))
        await uow.rollback()
        order = await fail_order(uow, order_id, "settlement_failed")
        await _owe_refund(uow, order_id, charge_id=outcome.charge_id)
        await refunds.schedule_refund(uow, order_id)
        refunded = await _refund_now(uow, gateway, order_id)
        raise OrderNotCompleted(
            details={
                "order_id": str(order_id),
                "reference": order.reference,
                "refunded": refunded,
            }
        ) from None
    if result.effect != "late":
        return result.order
    order = result.order
    refunded = await _refund_now(uow, gateway, order_id)
    raise OrderNoLongerPayable(
        details={
            "order_id": str(order_id),
            "reference": order.reference,
            "status": order.status,
            "refunded": refunded,
        }
    )


async def _owe_refund(uow: UnitOfWork, order_id: uuid.UUID, *, charge_id: str | None) -> None:
    values: dict[str, object] = {"refund_due": True, "updated_at": uow.clock.now()}
    if charge_id is not None:
        values["payment_reference"] = charge_id
    await uow.session.execute(
        update(Order)
        # A paid order (a webhook won the race with a failing settlement) keeps its money.
        .where(
            Order.id == order_id,
            Order.refund_reference.is_(None),
            Order.status != OrderStatus.PAID.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def _refund_now(uow: UnitOfWork, gateway: PaymentGateway, order_id: uuid.UUID) -> bool:
    """Try the refund at once (the job scheduled with it retries if this fails)."""
    await uow.commit()
    try:
        order = await refunds.complete_refund(uow, gateway, order_id)
    except RefundFailed:
        await uow.rollback()
        return False
    return order.refund_reference is not None


def _failure_message(reason: str) -> str:
    if reason == "timeout":
        return (
            "The payment provider did not answer in time. The order was not completed and no "
            "payment is kept: anything charged is refunded."
        )
    return "The payment did not go through; nothing was charged."
