from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.jobs import registry
from admitone.jobs.cron import CronScheduler, latest_slot
from admitone.jobs.models import Job
from admitone.jobs.registry import CronEntry, cron
from admitone.jobs.worker import drain
from admitone.runtime import Runtime

DAILY = CronEntry("0 0 * * *", "test_jobs.cron_daily")
cron("*/5 * * * *", "test_jobs.cron_daily", {"from": "registry"})


@pytest.fixture
async def other_process(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A second runtime on the same database: its own engine and connections, as another
    worker process would have."""
    runtime = Runtime.build(settings, clock)
    yield runtime
    await runtime.close()


async def _cron_jobs(runtime: Runtime) -> list[Job]:
    async with runtime.unit_of_work(readonly=True) as uow:
        stmt = select(Job).where(Job.kind == DAILY.kind).order_by(Job.run_at)
        return list((await uow.session.scalars(stmt)).all())


async def test_racing_schedulers_enqueue_each_slot_exactly_once(
    runtime: Runtime, other_process: Runtime, clock: FrozenClock
) -> None:
    # First sight of the entry at noon: the past midnight is not run late.
    assert await CronScheduler(runtime, [DAILY]).tick() == 0

    clock.set(datetime(2026, 6, 2, 0, 0, 30, tzinfo=UTC))
    for _ in range(3):  # fresh schedulers, as restarted workers would be
        results = await asyncio.gather(
            *(CronScheduler(rt, [DAILY]).tick() for rt in (runtime, other_process, runtime))
        )
        assert sum(results) <= 1
    [job] = await _cron_jobs(runtime)
    assert job.unique_key == "cron:test_jobs.cron_daily:2026-06-02T00:00:00+00:00"

    # A slot stays done after its job has run and its unique key is free again.
    assert await drain(runtime) == 1
    assert await CronScheduler(other_process, [DAILY]).tick() == 0
    clock.set(datetime(2026, 6, 3, 0, 0, 5, tzinfo=UTC))
    assert await CronScheduler(other_process, [DAILY]).tick() == 1
    assert await CronScheduler(runtime, [DAILY]).tick() == 0
    assert len(await _cron_jobs(runtime)) == 2


async def test_after_downtime_only_the_latest_missed_slot_runs(
    runtime: Runtime, clock: FrozenClock
) -> None:
    scheduler = CronScheduler(runtime, [DAILY])
    await scheduler.tick()
    clock.set(datetime(2026, 6, 5, 9, 0, tzinfo=UTC))  # three midnights later
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0
    [job] = await _cron_jobs(runtime)
    assert job.unique_key is not None
    assert job.unique_key.endswith("2026-06-05T00:00:00+00:00")


async def test_registered_entries_are_scheduled_with_their_args(
    runtime: Runtime, clock: FrozenClock
) -> None:
    scheduler = CronScheduler(runtime)
    assert any(entry.args == {"from": "registry"} for entry in scheduler.entries)
    await scheduler.tick()
    clock.advance(minutes=5)
    assert await scheduler.tick() >= 1
    assert {"from": "registry"} in [job.args for job in await _cron_jobs(runtime)]


def test_latest_slot_includes_the_current_instant() -> None:
    midnight = datetime(2026, 6, 2, tzinfo=UTC)
    assert latest_slot("0 0 * * *", midnight) == midnight
    assert latest_slot("0 0 * * *", midnight.replace(hour=23)) == midnight


def test_invalid_schedules_are_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="invalid cron schedule"):
        cron("every day at noon", "test_jobs.cron_daily")
    assert all(entry.schedule != "every day at noon" for entry in registry.cron_entries())
