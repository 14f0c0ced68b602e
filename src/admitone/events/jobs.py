"""Job handlers of events: the follow-up of a deletion and the daily completion of past events."""

from __future__ import annotations

import uuid

import structlog

from admitone.events import service
from admitone.events.deletion import AFTER_DELETE_JOB
from admitone.jobs.registry import JobContext, cron, job_handler

log = structlog.get_logger(__name__)

COMPLETE_PAST_EVENTS_JOB = "events.complete_past_events"


@job_handler(AFTER_DELETE_JOB, queue="default", max_attempts=3, backoff_base=1.0)
async def after_delete(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        await service.run_after_delete(uow, uuid.UUID(ctx.args["event_id"]))


@job_handler(COMPLETE_PAST_EVENTS_JOB, queue="scheduled", max_attempts=3, backoff_base=1.0)
async def complete_past_events(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        completed = await service.complete_past_events(uow)
    log.info("events_completed", count=completed)


# Events whose date has passed are completed daily at 00:00 UTC.
cron("0 0 * * *", COMPLETE_PAST_EVENTS_JOB)
