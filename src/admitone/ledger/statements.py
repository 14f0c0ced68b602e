"""Statements read from the journal: one party's money movements, and an organizer's payouts.

The ledger knows no users. Whose movements are whose is told by the caller as a subquery of the
references it owns (the buyer's orders, the subscriber's subscriptions), so the owner's scope is
part of the one query that reads the entries (rule 8), and kinds the ledger does not know yet
(posted by a newer domain) are read the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from admitone.ledger.chart import AccountCode, EntryKind
from admitone.ledger.models import JournalEntry, JournalLine, LedgerAccount

ReferenceColumn = Literal["order_id", "subscription_id", "gateway_ref"]


@dataclass(frozen=True, slots=True)
class Owned:
    """Entries of ``kinds`` whose ``column`` is among ``references`` (a one-column select)."""

    kinds: Collection[str]
    column: ReferenceColumn
    references: Select[Any]


@dataclass(frozen=True, slots=True)
class EntryView:
    id: uuid.UUID
    kind: str
    amount: int
    currency: str
    posted_at: datetime
    order_id: uuid.UUID | None
    gateway_ref: str | None
    subscription_id: uuid.UUID | None


_ENTRY = (
    JournalEntry.id,
    JournalEntry.kind,
    JournalEntry.amount,
    JournalEntry.currency,
    JournalEntry.posted_at,
    JournalEntry.order_id,
    JournalEntry.gateway_ref,
    JournalEntry.subscription_id,
)


async def movements(
    session: AsyncSession,
    owned: Sequence[Owned],
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[EntryView]:
    """Up to ``limit`` entries of ``owned``, newest first, strictly older than ``before``."""
    scopes: list[ColumnElement[bool]] = [
        and_(
            JournalEntry.kind.in_(list(one.kinds)),
            getattr(JournalEntry, one.column).in_(one.references.scalar_subquery()),
        )
        for one in owned
    ]
    stmt = select(*_ENTRY).where(or_(*scopes) if scopes else false())
    if before is not None:
        at, last_id = before
        stmt = stmt.where(
            or_(
                JournalEntry.posted_at < at,
                and_(JournalEntry.posted_at == at, JournalEntry.id < last_id),
            )
        )
    stmt = stmt.order_by(JournalEntry.posted_at.desc(), JournalEntry.id.desc()).limit(limit)
    return [EntryView(*row) for row in (await session.execute(stmt)).all()]


async def latest_of_order(
    session: AsyncSession, order_id: uuid.UUID, kinds: Collection[str]
) -> EntryView | None:
    """The order's newest entry of one of ``kinds``."""
    row = (
        await session.execute(
            select(*_ENTRY)
            .where(JournalEntry.order_id == order_id, JournalEntry.kind.in_(list(kinds)))
            .order_by(JournalEntry.posted_at.desc(), JournalEntry.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else EntryView(*row)


# Payouts

REVENUE_CODES = frozenset({AccountCode.TICKET_REVENUE, AccountCode.PRODUCT_REVENUE})
TAX_CODE = AccountCode.TAX_PAYABLE  # opened by the first taxed payment of the event
REFUNDS_CODE = AccountCode.REFUNDS
FEES_CODE = AccountCode.PROCESSING_FEES
REFUND_KINDS = frozenset({EntryKind.REFUND})


@dataclass(slots=True)
class PayoutRow:
    organizer_id: uuid.UUID
    event_id: uuid.UUID
    month: str  # YYYY-MM, of the entries' UTC posting time
    currency: str
    gross: int = 0  # what buyers paid, tax included
    fees: int = 0
    refunds: int = 0  # what went back to buyers, tax included
    tax: int = 0  # tax still owed on what was kept

    @property
    def net(self) -> int:
        return self.gross - self.fees - self.refunds - self.tax


def _month(session: AsyncSession, column: Any) -> ColumnElement[str]:
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    # SQLite keeps UTC timestamps as ISO text (``UTCDateTime``).
    return func.strftime("%Y-%m", column)


async def payouts(
    session: AsyncSession,
    *,
    organizer_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> list[PayoutRow]:
    """Per organizer, event, UTC month and currency, what the event's entries posted in
    ``[start, end)`` moved: newest month first, then by event and currency.

    Summed per entry kind and account so that a refund's share taken out of product revenue or
    out of tax counts as refunded, not as gross taken back. Entries without an event
    (subscriptions) are no event's payout."""
    month = _month(session, JournalEntry.posted_at).label("month")
    keys = (
        LedgerAccount.organizer_id,
        LedgerAccount.event_id,
        month,
        LedgerAccount.currency,
        JournalEntry.kind,
        LedgerAccount.code,
    )
    stmt = (
        select(
            *keys,
            func.coalesce(func.sum(JournalLine.debit), 0),
            func.coalesce(func.sum(JournalLine.credit), 0),
        )
        .select_from(JournalLine)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            LedgerAccount.event_id.is_not(None),
            JournalEntry.posted_at >= start.astimezone(UTC),
            JournalEntry.posted_at < end.astimezone(UTC),
        )
        .group_by(*keys)
    )
    if organizer_id is not None:
        stmt = stmt.where(LedgerAccount.organizer_id == organizer_id)
    if event_id is not None:
        stmt = stmt.where(LedgerAccount.event_id == event_id)
    rows: dict[tuple[uuid.UUID, uuid.UUID, str, str], PayoutRow] = {}
    for org, event, mon, currency, kind, code, debits, credits in (
        await session.execute(stmt)
    ).all():
        assert event is not None  # per-event accounts only, by the query
        key = (org, event, mon, currency)
        row = rows.get(key)
        if row is None:
            row = rows[key] = PayoutRow(org, event, mon, currency)
        _add(row, kind, code, int(debits), int(credits))
    ordered = sorted(rows.values(), key=lambda r: (r.event_id.hex, r.currency))
    return sorted(ordered, key=lambda r: r.month, reverse=True)


def _add(row: PayoutRow, kind: str, code: str, debits: int, credits: int) -> None:
    if code in REVENUE_CODES or code == TAX_CODE:
        if kind in REFUND_KINDS:
            row.refunds += debits - credits
        else:
            row.gross += credits - debits
    if code == TAX_CODE:
        row.tax += credits - debits
    elif code == REFUNDS_CODE:
        row.refunds += debits - credits
    elif code == FEES_CODE:
        row.fees += debits - credits
