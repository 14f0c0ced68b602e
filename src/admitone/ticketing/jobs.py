"""Job handlers of ticketing: the per-order expiry, the cancel of a closed order's payment, the
refund retry and the sweeping cron."""

from __future__ import annotations

import uuid

import structlog

from admitone.core.errors import DomainError
from admitone.jobs.errors import PermanentJobFailure
from admitone.jobs.registry import JobContext, cron, job_handler
from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.ticketing import books, expiry, payment_cancel, refunds, repository
from admitone.ticketing.purchase import confirm
from admitone.ticketing.transitions import CANCEL_PAYMENT_JOB

log = structlog.get_logger(__name__)

SWEEP_ORDERS_JOB = "ticketing.sweep_orders"
SWEEP_BATCH = 500


@job_handler(expiry.EXPIRE_ORDER_JOB, max_attempts=10)
async def expire_order_job(ctx: JobContext) -> None:
    runtime = ctx.runtime
    await payment_cancel.expire_order(
        runtime.unit_of_work,
        runtime.gateway,
        runtime.settings,
        uuid.UUID(str(ctx.args["order_id"])),
    )


# Until it is cancelled, a buyer can still pay an order that is closed: retry for about a day,
# as refunds do.
@job_handler(CANCEL_PAYMENT_JOB, max_attempts=30, backoff_base=30.0, backoff_cap=3600.0)
async def cancel_payment_job(ctx: JobContext) -> None:
    runtime = ctx.runtime
    try:
        await payment_cancel.cancel_payment(
            runtime.unit_of_work,
            runtime.gateway,
            runtime.settings,
            uuid.UUID(str(ctx.args["order_id"])),
        )
    except (GatewayTimeout, GatewayUnavailable):
        raise
    except GatewayError as exc:
        # Refused (no such intent, say): asking again would be refused again.
        raise PermanentJobFailure(exc.code) from exc


# The buyer waits for this email: retry within minutes, as the send job itself does.
@job_handler(
    confirm.CONFIRMATION_JOB,
    queue="emails",
    max_attempts=10,
    backoff_base=30.0,
    backoff_cap=1800.0,
)
async def send_confirmation_job(ctx: JobContext) -> None:
    """Render the tickets PDF and log the confirmation email of a paid order (idempotent)."""
    async with ctx.runtime.unit_of_work() as uow:
        await confirm.send_confirmation(
            uow, ctx.runtime.settings, uuid.UUID(str(ctx.args["order_id"]))
        )


# Retries for about a day (30 s doubling, capped at an hour): a gateway outage must not leave
# a buyer's money behind.
@job_handler(refunds.REFUND_ORDER_JOB, max_attempts=30, backoff_base=30.0, backoff_cap=3600.0)
async def refund_order_job(ctx: JobContext) -> None:
    await refunds.complete_refund(
        ctx.runtime.unit_of_work, ctx.runtime.gateway, uuid.UUID(str(ctx.args["order_id"]))
    )


class FeeNotKnownYet(Exception):
    pass


# Stripe settles the balance transaction (and so the fee) shortly after the payment; a day of
# retries covers a slow one.
@job_handler(books.RECORD_FEE_JOB, max_attempts=20, backoff_base=60.0, backoff_cap=3600.0)
async def record_fee_job(ctx: JobContext) -> None:
    """Post the processing fee of a charge whose fee was not known when it was settled. The
    gateway is asked outside any transaction; the posting is idempotent on the charge."""
    charge_id = str(ctx.args["charge_id"])
    charge = await ctx.runtime.gateway.retrieve_charge(charge_id)
    if charge.fee_error is not None:
        # Retrying would not change what the gateway reports: dead at once, for staff to book.
        raise PermanentJobFailure(f"fee of {charge_id} cannot be booked: {charge.fee_error}")
    if charge.fee is None:
        raise FeeNotKnownYet(charge_id)
    try:
        async with ctx.runtime.unit_of_work() as uow:
            order = await repository.get_order(uow, uuid.UUID(str(ctx.args["order_id"])))
            await books.processing_fee(
                uow, order, charge_id=charge_id, fee=charge.fee, currency=charge.currency
            )
    except DomainError as refused:
        if refused.status_code >= 500:
            raise
        # The ledger refused the fee (its amount, a different fee already posted for the
        # charge) or the order is gone: the same again would be refused again.
        raise PermanentJobFailure(
            f"fee of {charge_id} cannot be booked: {refused.code}: {refused.message}"
        ) from refused


@job_handler(SWEEP_ORDERS_JOB, queue="scheduled", max_attempts=1)
async def sweep_orders_job(ctx: JobContext) -> None:
    """Expire what the per-order jobs missed (a lost job, a restored backup), one order per
    transaction so no sweep holds many events' counters at once, and make sure every refund
    still owed has a live job."""
    runtime = ctx.runtime
    async with runtime.unit_of_work(readonly=True) as uow:
        expiring = await expiry.orders_due_for_expiry(uow, limit=SWEEP_BATCH)
        owing = await repository.due_for_refund(uow, limit=SWEEP_BATCH)
    expired = 0
    for order_id in expiring:
        expired += await payment_cancel.expire_order(
            runtime.unit_of_work, runtime.gateway, runtime.settings, order_id
        )
    if owing:
        async with runtime.unit_of_work() as uow:
            for order_id in owing:
                await refunds.schedule_refund(uow, order_id)
    if expired or owing:
        log.info("orders_swept", expired=expired, refunds_owed=len(owing))


cron("* * * * *", SWEEP_ORDERS_JOB)
