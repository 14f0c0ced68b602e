"""Reads of what a test's actions left in the database: capacity counters, enqueued jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from admitone.events import service as events_service
from admitone.jobs.models import Job
from admitone.runtime import Runtime


@dataclass
class Counters:
    event: int
    tiers: dict[uuid.UUID, int]
    tier_names: dict[uuid.UUID, str] = field(compare=False, repr=False)

    def by_name(self) -> tuple[int, dict[str, int]]:
        """The event's count and each tier's by name, for tests that made their tiers by name."""
        return self.event, {self.tier_names[t]: taken for t, taken in self.tiers.items()}


async def counters(runtime: Runtime, event_id: uuid.UUID) -> Counters:
    async with runtime.unit_of_work(readonly=True) as uow:
        snapshot = await events_service.get_event_snapshot(uow, event_id)
    return Counters(
        snapshot.taken,
        {t.id: t.taken for t in snapshot.tiers},
        {t.id: t.name for t in snapshot.tiers},
    )


async def jobs_of(runtime: Runtime, kind: str) -> list[Job]:
    async with runtime.unit_of_work(readonly=True) as uow:
        return list(await uow.session.scalars(select(Job).where(Job.kind == kind)))
