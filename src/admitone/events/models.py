"""Events and their ticket tiers. ``taken`` counters are the only source of availability: the
purchase path never counts orders or tickets (rule 5)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey
from admitone.core.tax_columns import TaxRateColumns, tax_rate_check


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RefundPolicy(StrEnum):
    """Until when a buyer may cancel a paid order for a full refund (organizers and staff
    always can)."""

    UNTIL_START = "until_start"
    UNTIL_DEADLINE = "until_deadline"  # ``refund_deadline``, before the start
    NONE = "none"


REFUND_POLICY_CHECK = "refund_policy IN ('until_start', 'until_deadline', 'none')"
REFUND_DEADLINE_CHECK = "(refund_policy = 'until_deadline') = (refund_deadline IS NOT NULL)"


class Event(TaxRateColumns, UUIDPrimaryKey, Timestamps, Base):
    """The tax rate columns hold the event's default rate, for tiers and products without one."""

    __tablename__ = "events"

    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.DRAFT.value)
    max_attendees: Mapped[int | None] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # A policy plus the one date it may need, rather than a bare nullable deadline: "until the
    # start" follows the event when it moves, and "no refunds" is said, not encoded as a date.
    refund_policy: Mapped[str] = mapped_column(
        String(20),
        default=RefundPolicy.UNTIL_START.value,
        server_default=RefundPolicy.UNTIL_START.value,
    )
    refund_deadline: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint(
            "max_attendees IS NULL OR taken <= max_attendees", name="taken_within_capacity"
        ),
        CheckConstraint("max_attendees IS NULL OR max_attendees >= 0", name="max_attendees"),
        CheckConstraint(REFUND_POLICY_CHECK, name="refund_policy"),
        CheckConstraint(REFUND_DEADLINE_CHECK, name="refund_deadline"),
        tax_rate_check(),
        # The public list: live events of one status, newest first (keyset pagination).
        Index("ix_events_status_created", "status", "created_at", "id"),
        Index("ix_events_organizer_created", "organizer_id", "created_at", "id"),
        # The completion cron scans published events by start.
        Index("ix_events_status_starts_at", "status", "starts_at"),
    )


class Tier(TaxRateColumns, UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "tiers"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Minor units of the event's currency. Orders copy the unit price, so changing it here never
    # touches an existing order.
    price: Mapped[int] = mapped_column(BigInteger)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    sales_start: Mapped[datetime | None]
    sales_end: Mapped[datetime | None]
    max_per_order: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Set with the event's own deletion: a tier of a deleted event is kept for its orders.
    is_available: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    deleted_at: Mapped[datetime | None]
    # Plans whose active members alone may buy this tier (uuids as strings; empty: anyone).
    # Kept on the tier, not joined, so that a purchase of a tier that requires nothing reads
    # nothing more; the plans are billing's, checked through a registered membership check.
    required_plan_ids: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )

    __table_args__ = (
        CheckConstraint("taken >= 0", name="taken_not_negative"),
        CheckConstraint("taken <= capacity", name="taken_within_capacity"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("max_per_order IS NULL OR max_per_order >= 1", name="max_per_order"),
        tax_rate_check(),
        Index("ix_tiers_event_position", "event_id", "position"),
    )
