"""Use cases of the job table: enqueue in the caller's transaction, inspect, retry, cancel, prune.

The worker's own state transitions (claim, lease, finish) live in ``claims``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page, paginate
from admitone.jobs import registry, wakeups
from admitone.jobs.errors import (
    DuplicateLiveJob,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
    UnknownJobKind,
)
from admitone.jobs.models import LIVE_STATES, WAITING_STATES, Job, JobState, live_predicate

RETRYABLE_BY_HAND = (JobState.DEAD, JobState.CANCELLED, *WAITING_STATES)
CANCELLABLE = (*LIVE_STATES, JobState.DEAD)
PRUNABLE = (JobState.COMPLETED, JobState.CANCELLED)
_UNIQUE_INSERT_TRIES = 3


async def enqueue(
    uow: UnitOfWork,
    kind: str,
    args: Mapping[str, Any],
    *,
    queue: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    unique_key: str | None = None,
) -> Job:
    """Add a job in the caller's transaction: it exists only if that transaction commits.

    With ``unique_key``, a live job (waiting or running) with the same key is returned instead
    of adding a second one.
    """
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = uow.clock.now()
    values = _row(kind, NewJob(args, run_at, unique_key), now, queue, max_attempts)
    if unique_key is None:
        job = Job(**values)
        uow.session.add(job)
        await uow.flush()
    else:
        job, inserted = await _insert_unless_live(uow, values)
        if not inserted:
            return job
    if job.run_at <= now:
        await wakeups.announce(uow, job.queue)
    return job


@dataclass(frozen=True, slots=True)
class NewJob:
    args: Mapping[str, Any]
    run_at: datetime | None = None
    unique_key: str | None = None


async def enqueue_many(
    uow: UnitOfWork, kind: str, jobs: Sequence[NewJob], *, queue: str | None = None
) -> None:
    """``enqueue`` for several jobs of one kind, in one INSERT. Their unique keys must be new
    (made of ids this transaction just created): a live job already holding one is an
    ``IntegrityError`` here, not a job given back."""
    if not jobs:
        return
    now = uow.clock.now()
    rows = [_row(kind, job, now, queue) for job in jobs]
    await uow.flush()
    await uow.session.execute(insert(Job).execution_options(render_nulls=True), rows)
    if any(row["run_at"] <= now for row in rows):
        await wakeups.announce(uow, rows[0]["queue"])


def _row(
    kind: str, job: NewJob, now: datetime, queue: str | None, max_attempts: int | None = None
) -> dict[str, Any]:
    spec = registry.get_handler(kind)
    if spec is None:
        raise UnknownJobKind(f"no handler is registered for job kind {kind!r}")
    return {
        "id": new_uuid(),
        "queue": queue or spec.queue,
        "kind": kind,
        "args": _plain_json(job.args),
        "state": JobState.AVAILABLE.value,
        "attempt": 0,
        "max_attempts": max_attempts or spec.max_attempts,
        "run_at": job.run_at or now,
        "unique_key": job.unique_key,
        "created_at": now,
    }


def _plain_json(args: Mapping[str, Any]) -> dict[str, Any]:
    # Fail in the caller's transaction, with a clear message, rather than at commit or in a worker.
    try:
        plain: dict[str, Any] = json.loads(json.dumps(dict(args)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job args must be plain JSON: {exc}") from exc
    return plain


async def _insert_unless_live(uow: UnitOfWork, values: dict[str, Any]) -> tuple[Job, bool]:
    """The new job and True, or the live job already holding the key and False."""
    connection = await uow.session.connection()
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    # An ORM-enabled INSERT ... RETURNING: the new row comes back as a Job in the session,
    # without a second round trip to read it.
    stmt = (
        dialect_insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Job.unique_key], index_where=live_predicate())
        .returning(Job)
    )
    for _ in range(_UNIQUE_INSERT_TRIES):
        job = await uow.session.scalar(stmt)
        if job is not None:
            return job, True
        # The holder of the key may have finished between the insert and now: look, then retry.
        live = await _live_job_with_key(uow, values["unique_key"])
        if live is not None:
            return live, False
    raise DuplicateLiveJob(details={"unique_key": values["unique_key"]})


async def _live_job_with_key(uow: UnitOfWork, unique_key: str) -> Job | None:
    return await uow.session.scalar(
        select(Job).where(Job.unique_key == unique_key, Job.state.in_(LIVE_STATES))
    )


async def get_job(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    job = await uow.session.get(Job, job_id)
    if job is None:
        raise JobNotFound()
    return job


async def list_jobs(
    uow: UnitOfWork,
    *,
    state: JobState | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Job]:
    stmt = select(Job)
    if state is not None:
        stmt = stmt.where(Job.state == state.value)
    if queue is not None:
        stmt = stmt.where(Job.queue == queue)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    return await paginate(
        uow.session, stmt, created_at=Job.created_at, row_id=Job.id, limit=limit, cursor=cursor
    )


async def retry_job(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    """Run a dead, cancelled or waiting job now, with one more attempt if it had none left."""
    job = await _locked(uow, job_id)
    if job.state not in RETRYABLE_BY_HAND:
        raise JobNotRetryable(details={"state": job.state})
    if job.unique_key is not None and job.state not in WAITING_STATES:
        live = await _live_job_with_key(uow, job.unique_key)
        if live is not None and live.id != job.id:
            raise DuplicateLiveJob(details={"job_id": str(live.id)})
    job.state = JobState.AVAILABLE.value
    job.run_at = uow.clock.now()
    job.max_attempts = max(job.max_attempts, job.attempt + 1)
    job.finished_at = None
    job.locked_by = None
    job.lease_expires_at = None
    await uow.flush()
    await wakeups.announce(uow, job.queue)
    return job


async def cancel_job(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    """Cancel a job. A running handler is stopped by its worker at the next lease renewal, and
    its result, if it finishes first, is discarded."""
    job = await _locked(uow, job_id)
    if job.state not in CANCELLABLE:
        raise JobNotCancellable(details={"state": job.state})
    job.state = JobState.CANCELLED.value
    job.finished_at = uow.clock.now()
    job.locked_by = None
    job.lease_expires_at = None
    await uow.flush()
    return job


async def _locked(uow: UnitOfWork, job_id: uuid.UUID) -> Job:
    job = await uow.session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise JobNotFound()
    return job


async def prune(uow: UnitOfWork, *, finished_before: datetime, batch_size: int = 1000) -> int:
    """Delete up to ``batch_size`` completed or cancelled jobs finished before the cutoff. Dead
    jobs stay until someone retries or cancels them: they are what an operator must look at."""
    doomed = (
        select(Job.id)
        .where(Job.state.in_(PRUNABLE), Job.finished_at < finished_before)
        .limit(batch_size)
    )
    result = await uow.session.execute(
        delete(Job).where(Job.id.in_(doomed)).execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
