"""The activity log: who did what to which resource, and when (PII-safe by construction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, UUIDPrimaryKey

MANUAL = "manual"
AUTO = "auto"


class ActivityEntry(UUIDPrimaryKey, Base):
    __tablename__ = "activity_entries"

    action: Mapped[str] = mapped_column(String(100))
    actor_uuid: Mapped[uuid.UUID | None]
    actor_role: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10), default=MANUAL)
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_uuid: Mapped[uuid.UUID | None]
    target_uuid: Mapped[uuid.UUID | None]
    # "metadata" is reserved on declarative classes, so the attribute has another name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime]

    # Every admin filter is a prefix of one index, newest first by created_at within it.
    __table_args__ = (
        Index("ix_activity_entries_created_at", "created_at", "id"),
        # text_pattern_ops lets PostgreSQL use the index for the LIKE 'prefix%' action filter
        # whatever the database collation is.
        Index(
            "ix_activity_entries_action",
            "action",
            "created_at",
            postgresql_ops={"action": "text_pattern_ops"},
        ),
        Index("ix_activity_entries_actor", "actor_uuid", "created_at"),
        Index("ix_activity_entries_resource", "resource_type", "resource_uuid", "created_at"),
    )
