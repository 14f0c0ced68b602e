from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from admitone.activity.metadata import MetadataValue
from admitone.activity.models import ActivityEntry


class ActivityOut(BaseModel):
    id: uuid.UUID
    action: str
    actor_uuid: uuid.UUID | None
    actor_role: str
    mode: str
    resource_type: str | None
    resource_uuid: uuid.UUID | None
    target_uuid: uuid.UUID | None
    metadata: dict[str, MetadataValue]
    created_at: datetime

    @classmethod
    def of(cls, entry: ActivityEntry) -> ActivityOut:
        return cls(
            id=entry.id,
            action=entry.action,
            actor_uuid=entry.actor_uuid,
            actor_role=entry.actor_role,
            mode=entry.mode,
            resource_type=entry.resource_type,
            resource_uuid=entry.resource_uuid,
            target_uuid=entry.target_uuid,
            metadata=entry.meta,
            created_at=entry.created_at,
        )


class ActivityPage(BaseModel):
    data: list[ActivityOut]
    next_cursor: str | None
