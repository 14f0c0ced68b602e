"""events: events and ticket tiers with their capacity counters

Revision ID: 0005_events
Revises: 0004_activity
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0005_events"
down_revision: str | None = "0004_activity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("max_attendees", sa.Integer(), nullable=True),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("taken >= 0", name=op.f("ck_events_taken_not_negative")),
        sa.CheckConstraint(
            "max_attendees IS NULL OR taken <= max_attendees",
            name=op.f("ck_events_taken_within_capacity"),
        ),
        sa.CheckConstraint(
            "max_attendees IS NULL OR max_attendees >= 0", name=op.f("ck_events_max_attendees")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_events_organizer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_status_created", "events", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_events_organizer_created", "events", ["organizer_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_events_status_starts_at", "events", ["status", "starts_at"], unique=False)
    op.create_table(
        "tiers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("sales_start", UTCDateTime(), nullable=True),
        sa.Column("sales_end", UTCDateTime(), nullable=True),
        sa.Column("max_per_order", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("taken >= 0", name=op.f("ck_tiers_taken_not_negative")),
        sa.CheckConstraint("taken <= capacity", name=op.f("ck_tiers_taken_within_capacity")),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_tiers_capacity_not_negative")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_tiers_price_not_negative")),
        sa.CheckConstraint(
            "max_per_order IS NULL OR max_per_order >= 1", name=op.f("ck_tiers_max_per_order")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_tiers_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tiers")),
    )
    op.create_index("ix_tiers_event_position", "tiers", ["event_id", "position"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tiers_event_position", table_name="tiers")
    op.drop_table("tiers")
    op.drop_index("ix_events_status_starts_at", table_name="events")
    op.drop_index("ix_events_organizer_created", table_name="events")
    op.drop_index("ix_events_status_created", table_name="events")
    op.drop_table("events")
