"""The worker's side of the job table: claim due jobs, hold their lease, record the outcome.

Each step is its own short transaction, so no lock is held while a handler runs (rule 4).
A claim is identified by ``(job id, attempt)``: every later write is conditional on it, so a
worker whose lease was taken over can never overwrite what the new holder does.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update

from admitone.core.db import UnitOfWork
from admitone.jobs import telemetry
from admitone.jobs.models import WAITING_STATES, Job, JobState
from admitone.jobs.runtime import JobRuntime

LEASE_LOST = "lease expired: the worker running this job stopped before it finished"


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    kind: str
    queue: str
    attempt: int
    max_attempts: int
    args: dict[str, Any]


def worker_identity(role: str = "worker") -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:8]}"


async def claim(
    runtime: JobRuntime,
    *,
    queues: Sequence[str] | None,
    kinds: Collection[str],
    worker_id: str,
    limit: int,
) -> list[Claim]:
    """Take up to ``limit`` due jobs: waiting ones whose time has come, and running ones whose
    worker let the lease expire. PostgreSQL skips rows other workers are claiming right now;
    SQLite serialises writers, so the plain select is already exclusive there."""
    if limit < 1 or not kinds:
        return []
    claims: list[Claim] = []
    async with runtime.unit_of_work() as uow:
        now = uow.clock.now()
        lease_until = now + timedelta(seconds=runtime.settings.job_lease_seconds)
        due = or_(
            and_(Job.state.in_(WAITING_STATES), Job.run_at <= now),
            and_(Job.state == JobState.RUNNING.value, Job.lease_expires_at <= now),
        )
        stmt = select(Job).where(due, Job.kind.in_(list(kinds)))
        if queues is not None:
            stmt = stmt.where(Job.queue.in_(list(queues)))
        stmt = stmt.order_by(Job.run_at, Job.id).with_for_update(skip_locked=True)
        while len(claims) < limit:
            jobs = (await uow.session.scalars(stmt.limit(limit - len(claims)))).all()
            if not jobs:
                break
            for job in jobs:
                if job.state == JobState.RUNNING and job.attempt >= job.max_attempts:
                    _bury(uow, job)
                    continue
                job.state = JobState.RUNNING.value
                job.attempt += 1
                job.locked_by = worker_id
                job.lease_expires_at = lease_until
                claims.append(
                    Claim(job.id, job.kind, job.queue, job.attempt, job.max_attempts, job.args)
                )
            await uow.flush()
    return claims


def _bury(uow: UnitOfWork, job: Job) -> None:
    job.state = JobState.DEAD.value
    job.last_error = LEASE_LOST
    job.finished_at = uow.clock.now()
    job.locked_by = None
    job.lease_expires_at = None
    telemetry.job_buried(job.id, job.kind, job.attempt)


async def _update_claimed(
    runtime: JobRuntime, claim: Claim, values: Callable[[datetime], dict[str, Any]]
) -> bool:
    async with runtime.unit_of_work() as uow:
        result = await uow.session.execute(
            update(Job)
            .where(
                Job.id == claim.job_id,
                Job.attempt == claim.attempt,
                Job.state == JobState.RUNNING.value,
            )
            .values(**values(uow.clock.now()))
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1


_UNLOCKED = {"locked_by": None, "lease_expires_at": None}


async def extend_lease(runtime: JobRuntime, claim: Claim) -> bool:
    """Push the lease forward; False when the job is no longer ours (cancelled or taken over)."""
    lease = timedelta(seconds=runtime.settings.job_lease_seconds)
    return await _update_claimed(runtime, claim, lambda now: {"lease_expires_at": now + lease})


async def complete(runtime: JobRuntime, claim: Claim) -> bool:
    return await _update_claimed(
        runtime,
        claim,
        lambda now: {"state": JobState.COMPLETED.value, "finished_at": now, **_UNLOCKED},
    )


async def fail(
    runtime: JobRuntime, claim: Claim, error: str, *, permanent: bool, retry_in: float
) -> str:
    """Record a failed attempt; returns the outcome: "retried", "dead" or "lost"."""
    if permanent or claim.attempt >= claim.max_attempts:
        buried = await _update_claimed(
            runtime,
            claim,
            lambda now: {
                "state": JobState.DEAD.value,
                "last_error": error,
                "finished_at": now,
                **_UNLOCKED,
            },
        )
        return "dead" if buried else "lost"
    delay = timedelta(seconds=retry_in)
    retried = await _update_claimed(
        runtime,
        claim,
        lambda now: {
            "state": JobState.RETRYABLE.value,
            "last_error": error,
            "run_at": now + delay,
            **_UNLOCKED,
        },
    )
    return "retried" if retried else "lost"


async def release(runtime: JobRuntime, claim: Claim) -> bool:
    """Hand a job back untried (the worker is shutting down): the attempt does not count."""
    return await _update_claimed(
        runtime,
        claim,
        lambda now: {
            "state": JobState.AVAILABLE.value,
            "attempt": claim.attempt - 1,
            "run_at": now,
            **_UNLOCKED,
        },
    )
