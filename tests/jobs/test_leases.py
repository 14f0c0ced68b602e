from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from admitone.core.clock import FrozenClock
from admitone.jobs import claims, registry, service
from admitone.jobs.models import JobState
from admitone.jobs.runner import run_claim
from admitone.jobs.worker import Worker, drain
from admitone.runtime import Runtime
from tests.jobs import handlers
from tests.jobs.support import enqueue, eventually, load


async def _claim_as(runtime: Runtime, worker_id: str) -> list[claims.Claim]:
    return await claims.claim(
        runtime, queues=None, kinds=registry.handlers(), worker_id=worker_id, limit=10
    )


async def test_a_job_whose_worker_died_runs_again_once_its_lease_expires(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.record", {"token": token})
    [claim] = await _claim_as(runtime, "worker-that-dies")  # ...and never reports back

    clock.advance(seconds=runtime.settings.job_lease_seconds - 1)
    assert await drain(runtime) == 0, "taken from a worker whose lease still holds"
    clock.advance(seconds=1)
    assert await drain(runtime) == 1

    [ctx] = handlers.RUNS[token]
    assert (ctx.attempt, claim.attempt) == (2, 1)
    assert (await load(runtime, job.id)).state == JobState.COMPLETED
    # The dead worker's late report is ignored: the job is no longer its claim.
    assert await claims.complete(runtime, claim) is False


async def test_a_lost_job_without_attempts_left_is_dead(
    runtime: Runtime, clock: FrozenClock
) -> None:
    job = await enqueue(runtime, "test_jobs.record", {}, max_attempts=1)
    await _claim_as(runtime, "worker-that-dies")
    clock.advance(seconds=runtime.settings.job_lease_seconds)

    assert await drain(runtime) == 0
    dead = await load(runtime, job.id)
    assert dead.state == JobState.DEAD
    assert dead.last_error == claims.LEASE_LOST


async def test_a_long_handler_keeps_its_lease_so_no_other_worker_takes_the_job(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.blocking", {"token": token})
    [claim] = await _claim_as(runtime, "worker-a")
    running = asyncio.create_task(run_claim(runtime, claim, heartbeat_every=0.02))
    try:
        await asyncio.wait_for(handlers.STARTED[token].wait(), timeout=10)
        clock.advance(seconds=runtime.settings.job_lease_seconds * 3)

        async def lease_renewed() -> bool:
            lease = (await load(runtime, job.id)).lease_expires_at
            return lease is not None and lease > clock.now()

        await eventually(lease_renewed, within=10, what="the heartbeat to renew the lease")
        assert await _claim_as(runtime, "worker-b") == []
    finally:
        handlers.GATES[token].set()
    assert await asyncio.wait_for(running, timeout=10) == "completed"
    assert len(handlers.RUNS[token]) == 1
    assert (await load(runtime, job.id)).attempt == 1


async def test_cancelling_a_running_job_stops_its_handler(runtime: Runtime) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.blocking", {"token": token})
    [claim] = await _claim_as(runtime, "worker-a")
    running = asyncio.create_task(run_claim(runtime, claim, heartbeat_every=0.02))
    await asyncio.wait_for(handlers.STARTED[token].wait(), timeout=10)

    async with runtime.unit_of_work() as uow:
        await service.cancel_job(uow, job.id)

    assert await asyncio.wait_for(running, timeout=10) == "lost"
    assert not handlers.GATES[token].is_set()
    assert (await load(runtime, job.id)).state == JobState.CANCELLED


async def test_an_in_process_worker_wakes_on_commit_not_on_the_next_poll(
    runtime: Runtime,
) -> None:
    runtime.settings.job_poll_interval_seconds = 60.0
    worker = Worker(runtime, {"test_local": 2}, run_cron=False)
    await worker.start()
    try:
        # The second job arrives while the worker is idle, sixty seconds from its next poll.
        for _ in range(2):
            job = await enqueue(runtime, "test_jobs.record", {"token": handlers.token()})

            async def completed(job_id: uuid.UUID = job.id) -> bool:
                return (await load(runtime, job_id)).state == JobState.COMPLETED

            await eventually(completed, within=20, what="the worker to run the job")
    finally:
        await worker.stop()


async def test_stopping_a_worker_hands_back_the_jobs_it_could_not_finish(
    runtime: Runtime, clock: FrozenClock
) -> None:
    worker = Worker(runtime, {"test_local": 1}, run_cron=False, shutdown_grace=0.05)
    await worker.start()
    token = handlers.token()
    try:
        job = await enqueue(runtime, "test_jobs.blocking", {"token": token})
        await asyncio.wait_for(handlers.STARTED[token].wait(), timeout=20)
    finally:
        await worker.stop()

    released = await load(runtime, job.id)
    assert (released.state, released.attempt, released.locked_by) == (JobState.AVAILABLE, 0, None)
    handlers.GATES[token].set()
    clock.advance(timedelta(seconds=1))
    assert await drain(runtime) == 1
    assert (await load(runtime, job.id)).attempt == 1
