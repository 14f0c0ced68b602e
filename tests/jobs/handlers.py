"""Job handlers of the test suite. Loaded into worker subprocesses through
``ADMITONE_JOB_MODULES``, so it imports nothing from pytest. Kinds start with ``test_jobs.``."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import text

from admitone.core.actor import Actor, current_actor
from admitone.jobs.errors import PermanentJobFailure
from admitone.jobs.registry import JobContext, job_handler

# In-process observations, keyed by a token the test puts in the job's args.
RUNS: defaultdict[str, list[JobContext]] = defaultdict(list)
ACTORS: list[Actor] = []
FAILING: set[str] = set()
STARTED: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
GATES: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

SUBPROCESS_QUEUE = "test_jobs"


def token() -> str:
    return uuid.uuid4().hex


@job_handler("test_jobs.record", queue="test_local")
async def record(ctx: JobContext) -> None:
    RUNS[str(ctx.args.get("token"))].append(ctx)
    ACTORS.append(current_actor())


@job_handler("test_jobs.flaky", max_attempts=5, backoff_base=10.0, backoff_cap=40.0)
async def flaky(ctx: JobContext) -> None:
    RUNS[str(ctx.args["token"])].append(ctx)
    if ctx.attempt <= int(ctx.args["fail_times"]):
        raise RuntimeError(f"flaky failure {ctx.attempt}")


@job_handler("test_jobs.breakable", max_attempts=3, backoff_base=1.0, backoff_cap=1.0)
async def breakable(ctx: JobContext) -> None:
    RUNS[str(ctx.args["token"])].append(ctx)
    if ctx.args["token"] in FAILING:
        raise ConnectionError("smtp://mailer:hunter2@mail.example.com refused us")


@job_handler("test_jobs.permanent")
async def permanent(ctx: JobContext) -> None:
    RUNS[str(ctx.args["token"])].append(ctx)
    raise PermanentJobFailure("the thing this job was about no longer exists")


@job_handler("test_jobs.blocking", queue="test_local")
async def blocking(ctx: JobContext) -> None:
    gate = str(ctx.args["token"])
    RUNS[gate].append(ctx)
    STARTED[gate].set()
    await GATES[gate].wait()


@job_handler("test_jobs.cron_daily")
async def cron_daily(ctx: JobContext) -> None:
    RUNS["cron_daily"].append(ctx)


# Subprocess handlers: they report through the database, the only thing the test shares with
# the worker processes. The test creates the table.
RUNS_TABLE_DDL = (
    "CREATE TABLE test_job_runs (job_id uuid NOT NULL, attempt int NOT NULL, pid int NOT NULL, "
    "started_at timestamptz NOT NULL)"
)


async def _record_run(ctx: JobContext) -> None:
    async with ctx.runtime.unit_of_work() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO test_job_runs (job_id, attempt, pid, started_at) "
                "VALUES (:job_id, :attempt, :pid, :started_at)"
            ),
            _run_row(ctx),
        )


def _run_row(ctx: JobContext) -> dict[str, Any]:
    return {
        "job_id": ctx.job_id,
        "attempt": ctx.attempt,
        "pid": os.getpid(),
        "started_at": ctx.runtime.clock.now(),
    }


@job_handler("test_jobs.count_run", queue=SUBPROCESS_QUEUE)
async def count_run(ctx: JobContext) -> None:
    await _record_run(ctx)
    await asyncio.sleep(0.02)  # long enough that both workers get a share of the burst


@job_handler("test_jobs.hang_first_attempt", queue=SUBPROCESS_QUEUE, max_attempts=3)
async def hang_first_attempt(ctx: JobContext) -> None:
    await _record_run(ctx)
    if ctx.attempt == 1:
        await asyncio.sleep(600)  # the test kills this worker with SIGKILL meanwhile
