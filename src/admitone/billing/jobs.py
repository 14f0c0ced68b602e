"""Job handlers of billing: issuing an invoice an organizer wants for every paid order, and
emailing a document with its PDF."""

from __future__ import annotations

import uuid

from admitone.billing import emails, invoices
from admitone.jobs.registry import JobContext, job_handler


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
