"""Ledger accounts, journal entries and their lines.

No foreign key points at users, events or orders: the books outlive what they describe (an
anonymised organizer, a deleted event) and must never be cascaded away with it.

An entry is written lines first, header last. The header's insert trigger checks that the lines
balance, and a line can no longer be added once its header exists; the line-to-entry foreign
key is checked at commit, so lines without a header cannot commit either. Together they make an
unbalanced entry impossible to commit through any path, ORM or raw SQL (migration 0007).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, UUIDPrimaryKey
from admitone.ledger.errors import AppendOnlyViolation


class LedgerAccount(UUIDPrimaryKey, Base):
    __tablename__ = "ledger_accounts"

    organizer_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    code: Mapped[str] = mapped_column(String(40))
    # Copied from the chart so that reports written in SQL need not know it.
    account_type: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        # NULLs are distinct in a unique index, so organizer-wide and per-event accounts each
        # get their own partial index (both backends support them).
        Index(
            "uq_ledger_accounts_organizer_wide",
            "organizer_id",
            "currency",
            "code",
            unique=True,
            sqlite_where=text("event_id IS NULL"),
            postgresql_where=text("event_id IS NULL"),
        ),
        Index(
            "uq_ledger_accounts_per_event",
            "organizer_id",
            "currency",
            "code",
            "event_id",
            unique=True,
            sqlite_where=text("event_id IS NOT NULL"),
            postgresql_where=text("event_id IS NOT NULL"),
        ),
        Index("ix_ledger_accounts_event_id", "event_id"),
    )


class JournalEntry(UUIDPrimaryKey, Base):
    __tablename__ = "ledger_entries"

    # The idempotency key: a replayed webhook finds its entry instead of posting twice.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    organizer_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    # The sum of the debits, which is the sum of the credits (checked by the database).
    amount: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID | None]
    # A subscription's charge or refund (billing's; no foreign key: the ledger sits below it).
    subscription_id: Mapped[uuid.UUID | None]
    gateway_ref: Mapped[str | None] = mapped_column(String(255))
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entries.id"))
    posted_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_ledger_entries_event_id", "event_id"),
        Index("ix_ledger_entries_order_id", "order_id"),
        Index("ix_ledger_entries_subscription_id", "subscription_id"),
        Index("ix_ledger_entries_organizer_posted", "organizer_id", "posted_at"),
    )


class JournalLine(UUIDPrimaryKey, Base):
    __tablename__ = "ledger_lines"

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint(
            "(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)", name="one_side"
        ),
        Index("ix_ledger_lines_entry_id", "entry_id", "position"),
        Index("ix_ledger_lines_account_id", "account_id"),
    )


def _refuse_change(_mapper: Any, _connection: Any, target: object) -> None:
    raise AppendOnlyViolation(
        f"{type(target).__name__} rows are append-only; post a reversing entry instead"
    )


# The database refuses these too (triggers); failing in Python first gives a clear traceback at
# the line of code that tried, and costs nothing for other models.
for _model in (JournalEntry, JournalLine, LedgerAccount):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
