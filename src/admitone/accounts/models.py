from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from admitone.core.emails import email_key
from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ORGANIZER = "organizer"
    CUSTOMER = "customer"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254))
    # What sign-in and uniqueness compare, folded in Python because SQLite's lower() folds
    # ASCII letters only; set with every email, whoever sets it.
    email_normalised: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.CUSTOMER.value)

    __table_args__ = (Index("uq_users_email_normalised", email_normalised, unique=True),)

    @validates("email")
    def _normalise_with_email(self, _key: str, email: str) -> str:
        self.email_normalised = email_key(email)
        return email


class RefreshToken(UUIDPrimaryKey, Base):
    """A refresh token, stored only as a hash. Tokens of one login form a family: reuse of a
    rotated token means it was stolen, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    replaced_by_id: Mapped[uuid.UUID | None]
