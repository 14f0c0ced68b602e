"""Activity entries are kept: they carry uuids, codes and amounts only (an allow-list), and the
actor's uuid names no one once the account is gone."""

from __future__ import annotations

from sqlalchemy import func, select

from admitone.activity.models import ActivityEntry
from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register


async def keep_entries(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    count = await uow.session.scalar(
        select(func.count())
        .select_from(ActivityEntry)
        .where(ActivityEntry.actor_uuid == subject.user_id)
    )
    erasure.count(erasure.kept, "activity_entries", count or 0)


register("activity", {"activity_entries"}, keep_entries)
