from __future__ import annotations

from datetime import timedelta

from admitone.core.clock import FrozenClock
from admitone.jobs import service
from admitone.jobs.models import JobState
from admitone.jobs.worker import drain, prune
from admitone.runtime import Runtime
from tests.jobs import handlers
from tests.jobs.support import count_jobs, enqueue, load


async def test_finished_jobs_are_pruned_after_the_retention_period_but_dead_ones_stay(
    runtime: Runtime, clock: FrozenClock
) -> None:
    retention = timedelta(hours=runtime.settings.job_retention_hours)
    await enqueue(runtime, "test_jobs.record", {})  # completed at once, pruned later
    cancelled = await enqueue(runtime, "test_jobs.record", {}, run_at=clock.now() + retention)
    dead = await enqueue(runtime, "test_jobs.permanent", {"token": handlers.token()})
    assert await drain(runtime) == 2
    async with runtime.unit_of_work() as uow:
        await service.cancel_job(uow, cancelled.id)

    clock.advance(retention - timedelta(seconds=1))
    recent = await enqueue(runtime, "test_jobs.record", {})
    assert await drain(runtime) == 1
    assert await prune(runtime) == 0

    clock.advance(seconds=2)
    assert await prune(runtime) == 2
    assert await count_jobs(runtime) == 2
    assert (await load(runtime, dead.id)).state == JobState.DEAD
    assert (await load(runtime, recent.id)).state == JobState.COMPLETED
