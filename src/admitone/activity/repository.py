"""The admin log's query: filters that each match a prefix of one index, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admitone.activity.models import ActivityEntry
from admitone.core.pagination import Page, paginate


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    actor_uuid: uuid.UUID | None = None
    action_prefix: str | None = None
    resource_type: str | None = None
    resource_uuid: uuid.UUID | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def list_entries(
    session: AsyncSession, filters: ActivityFilters, *, limit: int | None, cursor: str | None
) -> Page[ActivityEntry]:
    stmt = select(ActivityEntry)
    if filters.actor_uuid is not None:
        stmt = stmt.where(ActivityEntry.actor_uuid == filters.actor_uuid)
    if filters.action_prefix:
        # Action names contain "_", a LIKE wildcard: autoescape makes the prefix literal.
        stmt = stmt.where(ActivityEntry.action.startswith(filters.action_prefix, autoescape=True))
    if filters.resource_type is not None:
        stmt = stmt.where(ActivityEntry.resource_type == filters.resource_type)
    if filters.resource_uuid is not None:
        stmt = stmt.where(ActivityEntry.resource_uuid == filters.resource_uuid)
    if filters.since is not None:
        stmt = stmt.where(ActivityEntry.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(ActivityEntry.created_at < filters.until)
    page: Page[ActivityEntry] = await paginate(
        session,
        stmt,
        created_at=ActivityEntry.created_at,
        row_id=ActivityEntry.id,
        limit=limit,
        cursor=cursor,
    )
    return page
