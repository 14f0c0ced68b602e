"""Job handlers of payment settlement: the hourly reconciliation with the gateway."""

from __future__ import annotations

from admitone.jobs.registry import JobContext, cron, job_handler
from admitone.payment_settlement import reconciliation


@job_handler(reconciliation.RECONCILE_JOB, queue="scheduled", max_attempts=1)
async def reconcile_job(ctx: JobContext) -> None:
    await reconciliation.reconcile(ctx.runtime)


cron("23 * * * *", reconciliation.RECONCILE_JOB)
