"""The durable job table and the cron bookkeeping that makes each slot run once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, UUIDPrimaryKey


class JobState(StrEnum):
    AVAILABLE = "available"  # waiting for its run_at
    RUNNING = "running"  # claimed; the lease says until when
    RETRYABLE = "retryable"  # failed, waiting for its backoff to pass
    COMPLETED = "completed"
    DEAD = "dead"  # attempts exhausted or failed permanently; kept for inspection and re-run
    CANCELLED = "cancelled"


LIVE_STATES = (JobState.AVAILABLE, JobState.RUNNING, JobState.RETRYABLE)
WAITING_STATES = (JobState.AVAILABLE, JobState.RETRYABLE)
FINISHED_STATES = (JobState.COMPLETED, JobState.DEAD, JobState.CANCELLED)

# The predicate of the partial unique index: a unique key is taken only while its job is live,
# so a finished job keeps its key for inspection and the same work can be enqueued again.
LIVE_PREDICATE = "state IN ('available', 'running', 'retryable')"


def live_predicate() -> ColumnElement[bool]:
    return text(LIVE_PREDICATE)  # type: ignore[return-value]


class Job(UUIDPrimaryKey, Base):
    __tablename__ = "jobs"

    queue: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(200))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    run_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    unique_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_jobs_claim", "state", "queue", "run_at"),
        Index("ix_jobs_created_at_id", "created_at", "id"),
        Index(
            "uq_jobs_unique_key_live",
            "unique_key",
            unique=True,
            sqlite_where=text(LIVE_PREDICATE),
            postgresql_where=text(LIVE_PREDICATE),
        ),
    )


class CronSlot(Base):
    """The latest slot enqueued per cron entry. Advancing it with a conditional update is what
    makes a slot run once however many schedulers race, even after its job has finished."""

    __tablename__ = "job_cron_slots"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_slot: Mapped[datetime]
