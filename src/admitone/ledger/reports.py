"""Read models over the books: an event's result, the trial balance, the gateway balance.

Balances are summed from the lines on every read rather than kept in counters: no row becomes a
hot spot that every payment of an organizer must lock, and nothing can drift from the journal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admitone.ledger.chart import AccountCode, normal_balance
from admitone.ledger.models import JournalLine, LedgerAccount


@dataclass(frozen=True, slots=True)
class LineView:
    account_id: uuid.UUID
    code: str
    event_id: uuid.UUID | None
    debit: int
    credit: int


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    currency: str
    revenue: int
    fees: int
    refunds: int
    refund_liability: int  # late payments not yet given back: held, but not the organizer's
    tax_payable: int = 0  # tax collected, less refunds: owed to the tax office

    @property
    def net(self) -> int:
        return self.revenue - self.refunds - self.fees


@dataclass(frozen=True, slots=True)
class EventLedgerSummary:
    event_id: uuid.UUID
    currencies: list[CurrencySummary]


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    organizer_id: uuid.UUID
    currency: str
    code: str
    account_type: str
    event_id: uuid.UUID | None
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        return normal_balance(self.code, self.debits, self.credits)


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    currency: str
    debits: int
    credits: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    totals: list[CurrencyTotals]

    @property
    def unbalanced_books(self) -> list[tuple[uuid.UUID, str]]:
        """(organizer, currency) pairs whose debits differ from their credits: always empty."""
        sums: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
        for row in self.rows:
            sums[(row.organizer_id, row.currency)] += row.debits - row.credits
        return sorted(key for key, difference in sums.items() if difference != 0)

    @property
    def balanced(self) -> bool:
        return all(t.debits == t.credits for t in self.totals) and not self.unbalanced_books


_DEBITS = func.coalesce(func.sum(JournalLine.debit), 0)
_CREDITS = func.coalesce(func.sum(JournalLine.credit), 0)


async def lines_of(session: AsyncSession, entry_id: uuid.UUID) -> list[LineView]:
    stmt = (
        select(
            JournalLine.account_id,
            LedgerAccount.code,
            LedgerAccount.event_id,
            JournalLine.debit,
            JournalLine.credit,
        )
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .where(JournalLine.entry_id == entry_id)
        .order_by(JournalLine.position)
    )
    return [LineView(*row) for row in (await session.execute(stmt)).all()]


async def event_summary(
    session: AsyncSession, event_id: uuid.UUID, *, organizer_id: uuid.UUID | None = None
) -> EventLedgerSummary:
    stmt = (
        select(LedgerAccount.currency, LedgerAccount.code, _DEBITS, _CREDITS)
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.event_id == event_id)
        .group_by(LedgerAccount.currency, LedgerAccount.code)
    )
    if organizer_id is not None:
        stmt = stmt.where(LedgerAccount.organizer_id == organizer_id)
    balances: dict[str, dict[str, int]] = defaultdict(dict)
    for currency, code, debits, credits in (await session.execute(stmt)).all():
        balances[currency][code] = normal_balance(code, int(debits), int(credits))
    return EventLedgerSummary(
        event_id=event_id,
        currencies=[
            CurrencySummary(
                currency=currency,
                # Products sold with the event's orders are its revenue too (their refunds are
                # taken back out of product revenue, so ``refunds`` is the tickets' only).
                revenue=by_code.get(AccountCode.TICKET_REVENUE, 0)
                + by_code.get(AccountCode.PRODUCT_REVENUE, 0),
                fees=by_code.get(AccountCode.PROCESSING_FEES, 0),
                refunds=by_code.get(AccountCode.REFUNDS, 0),
                refund_liability=by_code.get(AccountCode.REFUND_LIABILITY, 0),
                tax_payable=by_code.get(AccountCode.TAX_PAYABLE, 0),
            )
            for currency, by_code in sorted(balances.items())
        ],
    )


async def trial_balance(
    session: AsyncSession, *, organizer_id: uuid.UUID | None = None, currency: str | None = None
) -> TrialBalance:
    stmt = (
        select(
            LedgerAccount.organizer_id,
            LedgerAccount.currency,
            LedgerAccount.code,
            LedgerAccount.account_type,
            LedgerAccount.event_id,
            _DEBITS,
            _CREDITS,
        )
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.id)
        .order_by(
            LedgerAccount.organizer_id,
            LedgerAccount.currency,
            LedgerAccount.code,
            LedgerAccount.event_id,
        )
    )
    if organizer_id is not None:
        stmt = stmt.where(LedgerAccount.organizer_id == organizer_id)
    if currency is not None:
        stmt = stmt.where(LedgerAccount.currency == currency)
    rows = [
        TrialBalanceRow(org, cur, code, kind, event, int(debits), int(credits))
        for org, cur, code, kind, event, debits, credits in (await session.execute(stmt)).all()
    ]
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        debits, credits = totals.get(row.currency, (0, 0))
        totals[row.currency] = (debits + row.debits, credits + row.credits)
    return TrialBalance(
        rows=rows,
        totals=[CurrencyTotals(cur, d, c) for cur, (d, c) in sorted(totals.items())],
    )


async def gateway_balance(session: AsyncSession, organizer_id: uuid.UUID, currency: str) -> int:
    stmt = (
        select(_DEBITS - _CREDITS)
        .select_from(JournalLine)
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .where(
            LedgerAccount.organizer_id == organizer_id,
            LedgerAccount.currency == currency,
            LedgerAccount.code == AccountCode.GATEWAY_BALANCE.value,
        )
    )
    return int(await session.scalar(stmt) or 0)
