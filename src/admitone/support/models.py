"""Support requests and their comments.

A request's status, priority and assignee each move by one conditional UPDATE on the value the
mover read (``WHERE status = :old``), so of two racing changes one wins and the other is told
what the request now holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class RequestStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Category(StrEnum):
    GENERAL = "general"
    ORDER = "order"
    PAYMENT = "payment"
    REFUND = "refund"
    EVENT = "event"
    ACCOUNT = "account"
    OTHER = "other"


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class SupportRequest(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "support_requests"

    # NULL for a guest's request and once the requester's account is gone.
    requester_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # A guest's request is reached with its order's token; a signed-in user's never is.
    guest: Mapped[bool] = mapped_column(Boolean)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(10))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id"))
    # The event's organizer, copied when the request is made: an organizer's view is then one
    # indexed column, without reading the events domain's tables.
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_one_of("status", RequestStatus), name="status_known"),
        CheckConstraint(_one_of("priority", Priority), name="priority_known"),
        Index("ix_support_requests_created", "created_at", "id"),
        Index("ix_support_requests_requester", "requester_id", "created_at"),
        Index("ix_support_requests_organizer", "organizer_id", "created_at"),
        Index("ix_support_requests_assignee", "assignee_id"),
        Index("ix_support_requests_order", "order_id"),
    )


class SupportComment(UUIDPrimaryKey, Base):
    """A reply on a request. ``internal`` notes are for the people handling it, never for the
    requester: every read a requester can reach filters them out in the query."""

    __tablename__ = "support_comments"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("support_requests.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The author's account was deleted: the reply stays, naming no one.
    author_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Whether the author spoke for the desk (staff, the event's organizer) or as the requester.
    from_staff: Mapped[bool] = mapped_column(Boolean)
    internal: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("from_staff OR NOT internal", name="internal_from_staff"),
        Index("ix_support_comments_request", "request_id", "created_at"),
    )
