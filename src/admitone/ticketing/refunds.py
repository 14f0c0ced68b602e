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
from sqlalchemy import func, update

from admitone.core.db import UnitOfWork
from admitone.jobs import service as jobs_service
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import ChargeStatus, PaymentGateway
from admitone.ticketing import queries
from admitone.ticketing.errors import RefundFailed
from admitone.ticketing.idempotency import charge_key, refund_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.transitions import announce, release_capacity, transition

log = structlog.get_logger(__name__)

REFUND_ORDER_JOB = "ticketing.refund_order"
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


async def complete_refund(uow: UnitOfWork, gateway: PaymentGateway, order_id: uuid.UUID) -> Order:
    """Refund what the order owes, if anything. Spans transactions (rule 4): it commits the
    unit of work it is given before calling the gateway. Raises ``RefundFailed`` when the
    gateway fails; the order then stays due and is retried."""
    order = await queries.get_order(uow, order_id)
    if not order.refund_due:
        return await queries.get_order(uow, order_id, tickets=True)
    charge_id = order.payment_reference
    await uow.commit()
    try:
        if charge_id is None:
            # The charge's answer never came: ask whether money moved under the order's key.
            charge = await gateway.find_charge(charge_key(order_id))
            if charge is None or charge.status is not ChargeStatus.SUCCEEDED:
                return await _nothing_to_refund(uow, order_id)
            charge_id = charge.id
        refund = await gateway.refund(charge_id, idempotency_key=refund_key(order_id))
    except GatewayError as exc:
        log.warning("refund_failed", order_id=str(order_id), reason=exc.code)
        raise RefundFailed(details={"reason": exc.code, "order_id": str(order_id)}) from exc
    return await _record_refund(uow, order_id, charge_id, refund.id)


async def _nothing_to_refund(uow: UnitOfWork, order_id: uuid.UUID) -> Order:
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.refund_due)
        .values(refund_due=False, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    return await queries.get_order(uow, order_id, tickets=True)


async def _record_refund(
    uow: UnitOfWork, order_id: uuid.UUID, charge_id: str, refund_id: str
) -> Order:
    now = uow.clock.now()
    won = await uow.session.scalar(
        update(Order)
        .where(Order.id == order_id, Order.refund_due)
        .values(
            refund_due=False,
            refund_reference=refund_id,
            payment_reference=func.coalesce(Order.payment_reference, charge_id),
            refunded_at=now,
            updated_at=now,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    if won is not None:
        order = await queries.get_order(uow, order_id)
        if order.status == OrderStatus.REFUNDING and await transition(
            uow, order_id, {OrderStatus.REFUNDING}, OrderStatus.REFUNDED
        ):
            await release_capacity(uow, order)
            order = await queries.get_order(uow, order_id)
        # Also for an order that had already failed or expired: the money went back.
        await announce(uow, order, "refunded")
    return await queries.get_order(uow, order_id, tickets=True)
