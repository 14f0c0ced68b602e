"""Real `admitone worker` processes against PostgreSQL: the claims that matter in production."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text

from admitone.jobs import service
from admitone.jobs.listener import asyncpg_dsn
from admitone.jobs.models import Job, JobState
from admitone.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.jobs import handlers
from tests.jobs.support import enqueue, eventually, load

ROOT = Path(__file__).resolve().parents[2]
ADMITONE = Path(sys.executable).with_name("admitone")
LEASE_SECONDS = 5


@pytest.fixture
async def pg_runtime(pg_runtime: Runtime) -> Runtime:
    """With the table in which the worker processes record each run of a test job."""
    async with pg_runtime.unit_of_work() as uow:
        await uow.session.execute(text(handlers.RUNS_TABLE_DDL))
    return pg_runtime


class WorkerProcess:
    def __init__(self, process: asyncio.subprocess.Process, log: Path, database_url: str) -> None:
        self.process = process
        self.log = log
        self.database_url = database_url

    async def output(self) -> str:
        return await asyncio.to_thread(self.log.read_text, errors="replace")

    async def wait_until_listening(self) -> None:
        async def listening() -> bool:
            if self.process.returncode is not None:
                raise AssertionError(f"worker exited early:\n{await self.output()}")
            return "jobs_listening" in await self.output()

        await eventually(listening, within=60, what="the worker to LISTEN", every=0.1)

    async def idle(self) -> bool:
        """Whether the worker has looked for jobs since it began to LISTEN and has nothing in
        flight, so that only a notification (or its next poll) makes it look again. PostgreSQL
        stamps each session with when its last statement finished; the sessions on the database
        are the worker's and, idle since before it started, the test's."""
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            sessions = await connection.fetch(
                "SELECT state, query LIKE 'LISTEN%' AS listens, state_change"
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        listened = [s["state_change"] for s in sessions if s["listens"]]
        looked = [s["state_change"] for s in sessions if not s["listens"]]
        return (
            all(s["state"] == "idle" for s in sessions)
            and bool(listened)
            and bool(looked)
            and max(looked) > max(listened)
        )


@contextlib.asynccontextmanager
async def worker_process(
    database_url: str, log: Path, *, poll_seconds: float = 0.5
) -> AsyncIterator[WorkerProcess]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ADMITONE_ENV": "test",
        "ADMITONE_SECRET_KEY": TEST_SECRET,
        "ADMITONE_DATABASE_URL": database_url,
        "ADMITONE_AUTO_MIGRATE": "false",
        "ADMITONE_LOG_JSON": "true",
        "ADMITONE_LOG_LEVEL": "INFO",
        "ADMITONE_JOB_MODULES": json.dumps(["tests.jobs.handlers"]),
        "ADMITONE_WORKER_QUEUES": json.dumps({handlers.SUBPROCESS_QUEUE: 10}),
        "ADMITONE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "ADMITONE_JOB_POLL_INTERVAL_SECONDS": str(poll_seconds),
    }
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            str(ADMITONE), "worker", cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    try:
        yield WorkerProcess(process, log, database_url)
    finally:
        if process.returncode is None:
            process.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=15)


async def _runs(runtime: Runtime) -> list[Any]:
    async with runtime.unit_of_work(readonly=True) as uow:
        result = await uow.session.execute(
            text("SELECT job_id, attempt, pid, started_at FROM test_job_runs ORDER BY started_at")
        )
        return list(result.all())


async def _count_in_state(runtime: Runtime, state: JobState) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        stmt = select(func.count()).select_from(Job).where(Job.state == state.value)
        return int(await uow.session.scalar(stmt) or 0)


async def test_two_worker_processes_never_run_a_job_twice(
    pg_runtime: Runtime, postgres_url: str, tmp_path: Path
) -> None:
    async with (
        worker_process(postgres_url, tmp_path / "a.log") as a,
        worker_process(postgres_url, tmp_path / "b.log") as b,
    ):
        await a.wait_until_listening()
        await b.wait_until_listening()
        async with pg_runtime.unit_of_work() as uow:
            for n in range(200):
                await service.enqueue(uow, "test_jobs.count_run", {"n": n})

        async def all_completed() -> bool:
            return await _count_in_state(pg_runtime, JobState.COMPLETED) == 200

        await eventually(all_completed, within=90, what="200 jobs to complete", every=0.2)

    runs = await _runs(pg_runtime)
    assert len(runs) == 200
    assert len({run.job_id for run in runs}) == 200, "a job ran twice"
    assert {run.pid for run in runs} == {a.process.pid, b.process.pid}, "one worker sat idle"


async def test_a_job_of_a_killed_worker_runs_again_after_its_lease_expires(
    pg_runtime: Runtime, postgres_url: str, tmp_path: Path
) -> None:
    async with worker_process(postgres_url, tmp_path / "doomed.log") as doomed:
        await doomed.wait_until_listening()
        job = await enqueue(pg_runtime, "test_jobs.hang_first_attempt", {})

        async def started() -> bool:
            return len(await _runs(pg_runtime)) == 1

        await eventually(started, within=30, what="the first attempt to start")
        doomed.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(doomed.process.wait(), timeout=15)
    orphan = await load(pg_runtime, job.id)
    assert orphan.state == JobState.RUNNING
    assert orphan.lease_expires_at is not None

    async with worker_process(postgres_url, tmp_path / "rescuer.log") as rescuer:

        async def completed() -> bool:
            return (await load(pg_runtime, job.id)).state == JobState.COMPLETED

        await eventually(completed, within=LEASE_SECONDS + 60, what="the job to run again")

    first, second = await _runs(pg_runtime)
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.pid == doomed.process.pid
    assert second.pid == rescuer.process.pid
    assert second.started_at >= orphan.lease_expires_at, "taken while the lease still held"


async def test_notify_wakes_an_idle_worker_long_before_its_next_poll(
    pg_runtime: Runtime, postgres_url: str, tmp_path: Path
) -> None:
    poll_seconds = 120.0
    async with worker_process(postgres_url, tmp_path / "w.log", poll_seconds=poll_seconds) as w:
        await w.wait_until_listening()
        # Else the job could be taken by a claim the worker makes as it starts, with no NOTIFY.
        await eventually(w.idle, within=30, what="the worker to go idle")
        job = await enqueue(pg_runtime, "test_jobs.count_run", {})

        async def completed() -> bool:
            return (await load(pg_runtime, job.id)).state == JobState.COMPLETED

        await eventually(completed, within=poll_seconds / 4, what="NOTIFY to wake the worker")
