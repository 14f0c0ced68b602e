"""Job handlers of billing: issuing an invoice an organizer wants for every paid order, and
emailing a document with its PDF, and renewing subscriptions (a sweep every minute and one
job per subscription and period)."""

from __future__ import annotations

import uuid

from admitone.billing import emails, erasure, invoices, renewals, subscribe, subscription_fees
from admitone.jobs.errors import PermanentJobFailure
from admitone.jobs.registry import JobContext, cron, job_handler
from admitone.payments.subscriptions import SubscriptionGateway


@job_handler(invoices.ISSUE_JOB, max_attempts=20, backoff_base=5.0, backoff_cap=1800.0)
async def issue_invoice_job(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        await invoices.issue_automatically(uow, uuid.UUID(str(ctx.args["order_id"])))


# The buyer waits for this email: retry within minutes, as the confirmation job does.
@job_handler(
    emails.SEND_JOB, queue="emails", max_attempts=10, backoff_base=30.0, backoff_cap=1800.0
)
async def send_document_job(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        await emails.send(uow, ctx.runtime.settings, uuid.UUID(str(ctx.args["invoice_id"])))


@job_handler(renewals.SWEEP_JOB, max_attempts=3)
async def sweep_subscriptions_job(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        await renewals.sweep(uow, ctx.runtime.gateway)


# A gateway down or a lost answer raises: the job's own retry asks again with the same
# idempotency key, so the period is charged at most once.
@job_handler(renewals.RENEW_JOB, max_attempts=20, backoff_base=30.0, backoff_cap=3600.0)
async def renew_subscription_job(ctx: JobContext) -> None:
    runtime = ctx.runtime
    await renewals.renew(
        runtime.unit_of_work,
        runtime.gateway,
        runtime.settings,
        uuid.UUID(str(ctx.args["subscription_id"])),
        period=int(ctx.args["period"]),
        attempt=int(ctx.args["attempt"]),
    )


cron("* * * * *", renewals.SWEEP_JOB)


# The subscription already ended in the deletion's transaction; only the provider is left to
# tell. A gateway down raises, and the retry asks again with the same idempotency key.
@job_handler(erasure.CANCEL_AT_GATEWAY_JOB, max_attempts=20, backoff_base=30.0, backoff_cap=3600.0)
async def cancel_subscription_at_gateway_job(ctx: JobContext) -> None:
    subscription_id = uuid.UUID(str(ctx.args["subscription_id"]))
    async with ctx.runtime.unit_of_work() as uow:
        remote_id = await erasure.remote_id_of(uow, subscription_id)
    if remote_id is not None:
        await erasure.tell_gateway(ctx.runtime.gateway, subscription_id, remote_id)


class FeeNotKnownYet(Exception):
    pass


# Stripe settles the balance transaction (and so the fee) shortly after the payment; a day of
# retries covers a slow one, as for an order's fee.
@job_handler(
    subscription_fees.RECORD_FEE_JOB, max_attempts=20, backoff_base=60.0, backoff_cap=3600.0
)
async def record_subscription_fee_job(ctx: JobContext) -> None:
    subscription_id = uuid.UUID(str(ctx.args["subscription_id"]))
    invoice_id = str(ctx.args["invoice_id"])
    async with ctx.runtime.unit_of_work(readonly=True) as uow:
        remote_id = await subscription_fees.remote_id_of(uow, subscription_id)
    gateway = ctx.runtime.gateway
    if remote_id is None or not isinstance(gateway, SubscriptionGateway):
        return
    remote = await gateway.retrieve_subscription(remote_id)
    if remote.latest_invoice_id != invoice_id:
        # A later period's invoice came first: only staff can tell this payment's fee now.
        raise PermanentJobFailure(f"fee of invoice {invoice_id}: no longer the latest invoice")
    charge = remote.latest_charge
    if charge is not None and charge.fee_error is not None:
        raise PermanentJobFailure(f"fee of {invoice_id} cannot be booked: {charge.fee_error}")
    if charge is None or charge.fee is None:
        raise FeeNotKnownYet(invoice_id)
    async with ctx.runtime.unit_of_work() as uow:
        await subscription_fees.record(
            uow,
            subscription_id,
            invoice_id=invoice_id,
            gateway_ref=str(ctx.args["gateway_ref"]),
            fee=charge.fee,
            currency=charge.currency,
        )


# Replays a subscribe whose answer was lost with the same idempotency key; a gateway still
# down raises and the retry asks again.
@job_handler(subscribe.CONFIRM_JOB, max_attempts=20, backoff_base=30.0, backoff_cap=3600.0)
async def confirm_subscription_job(ctx: JobContext) -> None:
    await subscribe.confirm(
        ctx.runtime.unit_of_work,
        ctx.runtime.gateway,
        uuid.UUID(str(ctx.args["subscription_id"])),
    )


@job_handler(subscribe.REFUND_UNSETTLED_JOB, max_attempts=20, backoff_base=30.0, backoff_cap=3600.0)
async def refund_unsettled_subscription_charge_job(ctx: JobContext) -> None:
    await subscribe.refund_unsettled(
        ctx.runtime.gateway,
        uuid.UUID(str(ctx.args["subscription_id"])),
        str(ctx.args["charge_id"]),
    )
