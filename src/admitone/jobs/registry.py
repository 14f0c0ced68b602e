"""Job handlers and cron entries, registered per kind at import time (see admitone.wiring)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from croniter import croniter

from admitone.jobs.runtime import JobRuntime


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    kind: str
    attempt: int  # 1-based
    max_attempts: int
    args: dict[str, Any]
    runtime: JobRuntime


Handler = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    handler: Handler
    queue: str
    max_attempts: int
    backoff_base: float
    backoff_cap: float

    def backoff_seconds(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of ``base * 2**(n-1)``
        (capped), so retries of a burst spread out yet never come back sooner than half."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** max(attempt - 1, 0))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class CronEntry:
    schedule: str
    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kind}@{self.schedule}"


_handlers: dict[str, HandlerSpec] = {}
_cron_entries: dict[str, CronEntry] = {}


def job_handler(
    kind: str,
    *,
    queue: str = "default",
    max_attempts: int = 20,
    backoff_base: float = 1.0,
    backoff_cap: float = 3600.0,
) -> Callable[[Handler], Handler]:
    """Register ``async def handler(ctx: JobContext) -> None`` for ``kind``. Raising retries
    with backoff; raising ``PermanentJobFailure`` sends the job straight to dead."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if backoff_base < 0 or backoff_cap < backoff_base:
        raise ValueError("backoff needs 0 <= backoff_base <= backoff_cap")

    def register(handler: Handler) -> Handler:
        existing = _handlers.get(kind)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        _handlers[kind] = HandlerSpec(kind, handler, queue, max_attempts, backoff_base, backoff_cap)
        return handler

    return register


def cron(schedule: str, kind: str, args: dict[str, Any] | None = None) -> None:
    """Enqueue ``kind`` at every slot of ``schedule`` (a crontab line, evaluated in UTC)."""
    if not croniter.is_valid(schedule):
        raise ValueError(f"invalid cron schedule {schedule!r}")
    entry = CronEntry(schedule, kind, dict(args or {}))
    existing = _cron_entries.get(entry.name)
    if existing is not None and existing != entry:
        raise ValueError(f"cron entry {entry.name!r} is already registered with other args")
    _cron_entries[entry.name] = entry


def get_handler(kind: str) -> HandlerSpec | None:
    return _handlers.get(kind)


def handlers() -> dict[str, HandlerSpec]:
    return dict(_handlers)


def cron_entries() -> list[CronEntry]:
    return list(_cron_entries.values())
