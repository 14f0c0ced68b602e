from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role, User
from admitone.core.clock import FrozenClock
from admitone.core.db import UnitOfWork
from admitone.jobs import service
from admitone.jobs.errors import UnknownJobKind
from admitone.jobs.models import JobState
from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.jobs import handlers
from tests.jobs.support import count_jobs, enqueue, load


class Boom(Exception):
    pass


async def test_a_job_is_gone_when_its_transaction_rolls_back(runtime: Runtime) -> None:
    token = handlers.token()
    with pytest.raises(Boom):
        async with runtime.unit_of_work() as uow:
            await service.enqueue(uow, "test_jobs.record", {"token": token})
            raise Boom

    assert await count_jobs(runtime) == 0
    assert await drain(runtime) == 0
    assert handlers.RUNS[token] == []


async def test_a_committed_job_runs_once_with_its_args_as_the_system_actor(
    runtime: Runtime,
) -> None:
    token = handlers.token()
    job = await enqueue(runtime, "test_jobs.record", {"token": token, "n": 3})

    assert job.queue == "test_local"
    assert job.max_attempts == 20
    assert await drain(runtime) == 1
    assert await drain(runtime) == 0

    [ctx] = handlers.RUNS[token]
    assert (ctx.job_id, ctx.attempt, ctx.args) == (job.id, 1, {"token": token, "n": 3})
    assert handlers.ACTORS[-1].role == "system"
    done = await load(runtime, job.id)
    assert done.state == JobState.COMPLETED
    assert done.finished_at == runtime.clock.now()


async def test_a_failing_enqueue_fails_the_whole_transaction(runtime: Runtime) -> None:
    with pytest.raises(TypeError, match="plain JSON"):
        async with runtime.unit_of_work() as uow:
            user = await create_user_in(uow, runtime)
            await service.enqueue(uow, "test_jobs.record", {"when": datetime.now(UTC)})

    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(User).where(User.id == user.id)) is None
    assert await count_jobs(runtime) == 0


async def create_user_in(uow: UnitOfWork, runtime: Runtime) -> User:
    return await accounts_service.create_user(
        uow,
        runtime.settings,
        email="rollback@example.com",
        name="Rolled Back",
        password="correct horse battery staple",
        role=Role.CUSTOMER,
    )


async def test_enqueueing_an_unregistered_kind_is_refused(runtime: Runtime) -> None:
    with pytest.raises(UnknownJobKind):
        async with runtime.unit_of_work() as uow:
            await service.enqueue(uow, "test_jobs.no_such_kind", {})
    assert await count_jobs(runtime) == 0


async def test_queue_and_attempts_can_be_overridden_per_job(runtime: Runtime) -> None:
    job = await enqueue(runtime, "test_jobs.record", {}, queue="elsewhere", max_attempts=2)
    assert (job.queue, job.max_attempts) == ("elsewhere", 2)
    assert await drain(runtime, queues=["test_local"]) == 0
    assert await drain(runtime, queues=["elsewhere"]) == 1


async def test_a_job_scheduled_for_later_runs_only_when_the_clock_gets_there(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = handlers.token()
    await enqueue(
        runtime, "test_jobs.record", {"token": token}, run_at=clock.now() + timedelta(hours=1)
    )
    assert await drain(runtime) == 0
    clock.advance(minutes=59, seconds=59)
    assert await drain(runtime) == 0
    clock.advance(seconds=1)
    assert await drain(runtime) == 1
    assert len(handlers.RUNS[token]) == 1


async def test_a_unique_key_dedupes_live_jobs_only(runtime: Runtime) -> None:
    first = await enqueue(runtime, "test_jobs.record", {"n": 1}, unique_key="reminder:42")
    async with runtime.unit_of_work() as uow:
        again = await service.enqueue(uow, "test_jobs.record", {"n": 2}, unique_key="reminder:42")
        same_tx = await service.enqueue(uow, "test_jobs.record", {"n": 3}, unique_key="reminder:42")
    assert again.id == first.id == same_tx.id
    assert await count_jobs(runtime) == 1

    assert await drain(runtime) == 1
    # Finished jobs keep their key for inspection but no longer hold it.
    later = await enqueue(runtime, "test_jobs.record", {"n": 4}, unique_key="reminder:42")
    assert later.id != first.id
    assert (await load(runtime, first.id)).unique_key == "reminder:42"
    assert await count_jobs(runtime) == 2


async def test_concurrent_enqueues_with_one_unique_key_make_one_job(runtime: Runtime) -> None:
    async def one(n: int) -> object:
        job = await enqueue(runtime, "test_jobs.record", {"n": n}, unique_key="once")
        return job.id

    ids = await asyncio.gather(*(one(n) for n in range(8)))
    assert len(set(ids)) == 1
    assert await count_jobs(runtime) == 1
