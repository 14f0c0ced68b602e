"""Helpers of the job tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from admitone.jobs import service
from admitone.jobs.models import Job
from admitone.runtime import Runtime


async def enqueue(runtime: Runtime, kind: str, args: dict[str, Any], **options: Any) -> Job:
    async with runtime.unit_of_work() as uow:
        return await service.enqueue(uow, kind, args, **options)


async def load(runtime: Runtime, job_id: uuid.UUID) -> Job:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await uow.session.get_one(Job, job_id)


async def count_jobs(runtime: Runtime, kind: str | None = None) -> int:
    stmt = select(func.count()).select_from(Job)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(await uow.session.scalar(stmt) or 0)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.05
) -> None:
    """Wait, bounded, for something another task or process does (not for time to pass)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)
