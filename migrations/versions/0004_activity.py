"""activity: the PII-safe activity log

Revision ID: 0004_activity
Revises: 0003_email_log
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0004_activity"
down_revision: str | None = "0003_email_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("actor_uuid", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=True),
        sa.Column("resource_uuid", sa.Uuid(), nullable=True),
        sa.Column("target_uuid", sa.Uuid(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_entries")),
    )
    op.create_index(
        "ix_activity_entries_created_at", "activity_entries", ["created_at", "id"], unique=False
    )
    op.create_index(
        "ix_activity_entries_action",
        "activity_entries",
        ["action", "created_at"],
        unique=False,
        postgresql_ops={"action": "text_pattern_ops"},
    )
    op.create_index(
        "ix_activity_entries_actor", "activity_entries", ["actor_uuid", "created_at"], unique=False
    )
    op.create_index(
        "ix_activity_entries_resource",
        "activity_entries",
        ["resource_type", "resource_uuid", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_activity_entries_resource", table_name="activity_entries")
    op.drop_index("ix_activity_entries_actor", table_name="activity_entries")
    op.drop_index("ix_activity_entries_action", table_name="activity_entries")
    op.drop_index("ix_activity_entries_created_at", table_name="activity_entries")
    op.drop_table("activity_entries")
