"""The cron scheduler: enqueues each entry's latest due slot, exactly once across all workers.

Each entry has a row in ``job_cron_slots`` with the last slot enqueued. A scheduler advances it
with a conditional update and enqueues in the same transaction, so of several racing schedulers
exactly one wins a slot (PostgreSQL re-checks the condition after the row lock; SQLite
serialises writers), and a slot stays done after its job finishes. The job also carries the
unique key ``cron:{kind}:{slot}``.

An entry seen for the first time starts at its current slot without running it: deploying a
daily job at 15:00 does not run "today's midnight" late. After downtime, only the latest missed
slot runs, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from croniter import croniter
from sqlalchemy import CursorResult, update
from sqlalchemy.dialects import postgresql, sqlite

from admitone.core.db import UnitOfWork
from admitone.jobs import registry, service, telemetry
from admitone.jobs.models import CronSlot
from admitone.jobs.registry import CronEntry
from admitone.jobs.runtime import JobRuntime


def latest_slot(schedule: str, now: datetime) -> datetime:
    """The latest slot at or before ``now`` (croniter's get_prev excludes ``now`` itself)."""
    slot: datetime = croniter(schedule, now + timedelta(microseconds=1)).get_prev(datetime)
    return slot


class CronScheduler:
    def __init__(self, runtime: JobRuntime, entries: Sequence[CronEntry] | None = None) -> None:
        self.runtime = runtime
        self.entries = list(registry.cron_entries() if entries is None else entries)
        # Slots this process already settled, so an idle tick costs no database write.
        self._settled: dict[str, datetime] = {}

    async def tick(self) -> int:
        """Enqueue every entry whose latest slot is new; returns how many jobs this call added."""
        enqueued = 0
        now = self.runtime.clock.now()
        for entry in self.entries:
            slot = latest_slot(entry.schedule, now)
            if self._settled.get(entry.name) == slot:
                continue
            async with self.runtime.unit_of_work() as uow:
                if await _take_slot(uow, entry, slot):
                    await service.enqueue(
                        uow,
                        entry.kind,
                        entry.args,
                        unique_key=f"cron:{entry.kind}:{slot.isoformat()}",
                    )
                    enqueued += 1
                    telemetry.log.info("cron_enqueued", kind=entry.kind, slot=slot.isoformat())
            self._settled[entry.name] = slot
        return enqueued


async def _take_slot(uow: UnitOfWork, entry: CronEntry, slot: datetime) -> bool:
    connection = await uow.session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    first_sighting = await uow.session.scalar(
        insert(CronSlot)
        .values(name=entry.name, last_slot=slot)
        .on_conflict_do_nothing(index_elements=[CronSlot.name])
        .returning(CronSlot.name)
    )
    if first_sighting is not None:
        return False
    result = await uow.session.execute(
        update(CronSlot)
        .where(CronSlot.name == entry.name, CronSlot.last_slot < slot)
        .values(last_slot=slot)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1
