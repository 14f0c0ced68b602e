"""The email log and the content waiting to be sent.

The log row is what stays: who, which template, what happened. The template context and the
attachments live in their own tables only until the message is delivered, so the log holds no
message content and anonymising a recipient touches one column.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class EmailStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first attempt or for a retry
    SENT = "sent"
    FAILED = "failed"  # every attempt used, or refused for good by the server


class EmailLog(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "email_log"

    to_address: Mapped[str] = mapped_column(String(254), index=True)
    template: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=EmailStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    related_type: Mapped[str | None] = mapped_column(String(50))
    related_id: Mapped[uuid.UUID | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]

    payload: Mapped[EmailPayload | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    attachments: Mapped[list[EmailAttachment]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EmailAttachment.position",
        lazy="raise",
    )

    __table_args__ = (Index("ix_email_log_related", "related_type", "related_id"),)


class EmailPayload(Base):
    """The template context of an email not yet delivered."""

    __tablename__ = "email_payloads"

    email_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("email_log.id", ondelete="CASCADE"), primary_key=True
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSON)


class EmailAttachment(UUIDPrimaryKey, Base):
    """An attachment of an email not yet delivered; deleted once the message is sent."""

    __tablename__ = "email_attachments"

    email_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("email_log.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
