"""Giving money back: the one path every refund takes (a cancelled paid order, a payment that
arrived after its order expired, a settlement that failed after the charge, a charge whose
answer was lost).

An order with ``refund_due`` owes the buyer a refund. ``complete_refund`` reads it, ends the
transaction, asks the gateway with the order's own idempotency key (so racing or repeated calls
refund once), then records the result with a conditional update that exactly one caller wins.
A failure leaves ``refund_due`` set; the refund job and the sweeping cron retry it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.money import Money
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.notifications import service as notifications_service
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import Charge, ChargeStatus, PaymentGateway
from admitone.ticketing import books, repository
from admitone.ticketing.errors import RefundFailed
from admitone.ticketing.idempotency import charge_key, refund_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.transitions import announce, release_capacity

log = structlog.get_logger(__name__)

REFUND_ORDER_JOB = "ticketing.refund_order"
LATE_REFUND_TEMPLATE = "late_payment_refunded"
ALREADY_REFUNDED = "charge_already_refunded"  # Stripe's code, and the fake's
# After a timeout the charge request may still be in flight at the provider; looking it up
# later than this avoids concluding "nothing was charged" while it is still landing.
RECONCILE_DELAY = timedelta(minutes=5)


async def schedule_refund(
    uow: UnitOfWork, order_id: uuid.UUID, *, delay: timedelta | None = None
) -> None:
    await jobs_service.enqueue(
        uow,
        REFUND_ORDER_JOB,
        {"order_id": str(order_id)},
        run_at=uow.clock.now() + delay if delay else None,
        unique_key=f"{REFUND_ORDER_JOB}:{order_id}",
    )


async def complete_refund(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, order_id: uuid.UUID
) -> Order:
    """Refund what the order owes, if anything: a flow of a short read, the gateway called
    outside any transaction (rule 4) and a short write. Raises ``RefundFailed`` when the
    gateway fails; the order then stays due and is retried."""
    async with open_uow() as uow:
        order = await repository.get_order(uow, order_id)
        if not order.refund_due:
            return await repository.get_order(uow, order_id, tickets=True)
    charge_id = order.payment_reference
    # A paid order being cancelled was posted as revenue when it was paid; anything else owing
    # a refund holds money that was never the organizer's (a late payment).
    late = order.status != OrderStatus.REFUNDING
    charge: Charge | None = None
    try:
        if charge_id is None:
            # The charge's answer never came: ask whether money moved under the order's key.
            charge = await gateway.find_charge(charge_key(order_id))
        elif late:
            # Its amount and fee go to the ledger with the refund, whoever saw it first.
            charge = await gateway.retrieve_charge(charge_id)
        if charge_id is None or late:
            if charge is None or charge.status is not ChargeStatus.SUCCEEDED:
                async with open_uow() as uow:
                    return await _nothing_to_refund(uow, order_id)
            charge_id = charge.id
        refund = await gateway.refund(charge_id, idempotency_key=refund_key(order_id))
    except GatewayError as exc:
        if exc.code == ALREADY_REFUNDED and charge_id is not None:
            # Our own key would have answered our own refund: this one was made elsewhere.
            async with open_uow() as uow:
                return await _refunded_elsewhere(uow, order_id, charge_id, charge)
        log.warning("refund_failed", order_id=str(order_id), reason=exc.code)
        raise RefundFailed(details={"reason": exc.code, "order_id": str(order_id)}) from exc
    async with open_uow() as uow:
        return await record_refund(
            uow, order_id, charge_id, refund.id, refund.amount, charge=charge
        )


async def _refunded_elsewhere(
    uow: UnitOfWork, order_id: uuid.UUID, charge_id: str, charge: Charge | None
) -> Order:
    """Refunded outside admitone (Stripe's dashboard) and its webhook not in yet: settle it with
    a reference of our own, the same one reconciliation and the webhook fallback use."""
    return await record_refund(
        uow, order_id, charge_id, external_refund_ref(charge_id), None, charge=charge
    )


def external_refund_ref(charge_id: str) -> str:
    return f"{charge_id}-refund"


async def _nothing_to_refund(uow: UnitOfWork, order_id: uuid.UUID) -> Order:
    await repository.clear_refund_due(uow, order_id)
    return await repository.get_order(uow, order_id, tickets=True)


async def record_refund(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    charge_id: str,
    refund_id: str,
    amount: int | None,
    *,
    charge: Charge | None = None,
) -> Order:
    """Record a refund the gateway has made, in the caller's transaction: exactly one caller
    (the refund job, a cancel, a ``charge.refunded`` webhook) wins the update below, and only
    the winner releases capacity, posts the ledger and tells the buyer. ``amount`` None: known
    only as the charge's total refunded (a refund made elsewhere, see ``books.refund_issued``)."""
    if await repository.settle_refund(uow, order_id, charge_id=charge_id, refund_id=refund_id):
        order = await repository.get_order(uow, order_id)
        if order.status == OrderStatus.REFUNDING and await repository.transition(
            uow, order_id, {OrderStatus.REFUNDING}, OrderStatus.REFUNDED
        ):
            await release_capacity(uow, order, refund=True)
            order = await repository.get_order(uow, order_id)
            # Known only as the charge's total refunded: posted under the charge, once.
            ref = refund_id if amount is not None else external_refund_ref(charge_id)
            await books.refund_issued(uow, order, refund_id=ref, amount=amount)
        else:
            # A late payment (or one whose order could not be completed, or that was refused
            # for its amount) went back. Posting it is idempotent: usually its webhook or
            # settlement posted it already. It is in the payment's currency, whatever the order's.
            currency = charge.currency if charge else order.currency
            paid = charge.amount if charge else order.total_amount
            # With the charge read before this refund, what earlier refunds gave back too.
            given_back = (amount or 0) + (charge.amount_refunded if charge else 0) or paid
            await books.late_payment(
                uow,
                order,
                charge_id=charge_id,
                amount=paid,
                fee=charge.fee if charge else None,
                currency=currency,
            )
            await books.late_payment_refunded(
                uow, order, refund_id=refund_id, amount=given_back, currency=currency
            )
            try:
                # The refund is recorded whatever happens to its email: the money moved.
                async with uow.session.begin_nested():
                    await _tell_buyer(uow, order, Money(given_back, currency))
            except Exception:
                log.exception("late_refund_email_failed", order_id=str(order_id))
        # Also for an order that had already failed or expired: the money went back.
        await announce(uow, order, "refunded")
    return await repository.get_order(uow, order_id, tickets=True)


async def _tell_buyer(uow: UnitOfWork, order: Order, amount: Money) -> None:
    """Money that arrived too late is never kept silently: the buyer learns it went back."""
    event = await events_service.get_event_snapshot(uow, order.event_id)
    await notifications_service.send_email(
        uow,
        to=order.customer_email,
        template=LATE_REFUND_TEMPLATE,
        context={
            "name": order.customer_name,
            "event_name": event.name,
            "reference": order.reference,
            "status": order.status,
            "amount": f"{amount.to_decimal_string()} {amount.currency}",
        },
        related_type="order",
        related_id=order.id,
    )


async def record_refund_made_elsewhere(
    uow: UnitOfWork, order_id: uuid.UUID, *, charge: Charge, refund_id: str | None
) -> Order:
    """Settle a refund admitone did not start (Stripe's dashboard), in the caller's transaction:
    a paid order is refunded (tickets void, capacity back, ledger refund); money that arrived
    for an order that could not take it settles as a refunded late payment. Idempotent."""
    order = await repository.get_order(uow, order_id)
    if order.refund_reference is not None:
        return await repository.get_order(uow, order_id, tickets=True)
    now = uow.clock.now()
    if order.status == OrderStatus.PENDING and await repository.transition(
        uow, order_id, {OrderStatus.PENDING}, OrderStatus.FAILED, failure_reason="refunded"
    ):
        # Its success never reached us and the money is already back: the order cannot be paid.
        order = await repository.get_order(uow, order_id)
        await release_capacity(uow, order)
        await announce(uow, order, "failed", reason="refunded")
    if order.status == OrderStatus.PAID and await repository.transition(
        uow, order_id, {OrderStatus.PAID}, OrderStatus.REFUNDING, cancelled_at=now
    ):
        await repository.void_tickets(uow, order_id)
        order = await repository.get_order(uow, order_id)
        await announce(uow, order, "cancelled", partial=False)
    await repository.owe_refund_of(uow, order_id, charge.id)
    return await record_refund(
        uow, order_id, charge.id, refund_id or external_refund_ref(charge.id), None, charge=charge
    )


async def record_refund_by_id(
    uow: UnitOfWork, order_id: uuid.UUID, *, charge_id: str, refund_id: str, amount: int | None
) -> int:
    """A refund of a paid order's payment as the gateway reports it, partial refunds made in its
    dashboard included: posted to the ledger and counted on the order once per refund id. A
    partial refund leaves the order paid, its tickets valid, with the amount shown; the
    charge's own ``charge.refunded`` settles a whole refund. Answers the amount posted."""
    if not await repository.hold_paid_by(uow, order_id, charge_id):
        return 0
    order = await repository.get_order(uow, order_id)
    posted = await books.refund_issued(uow, order, refund_id=refund_id, amount=amount)
    if posted and order.status == OrderStatus.PAID:
        await announce(uow, order, "partially_refunded", refund_amount=posted)
    return posted


async def refuse_payment(uow: UnitOfWork, order_id: uuid.UUID, charge: Charge) -> bool:
    """A payment the order cannot be settled by (its amount or currency is not the order's, or
    part of it was refunded before it reached us): what is left of it is owed back by the refund
    job, outside this transaction, and the order left as it was. True for the one caller that
    found it owed first."""
    if not await repository.owe_payment_back(uow, order_id, charge.id):
        return False
    await schedule_refund(uow, order_id)
    return True
