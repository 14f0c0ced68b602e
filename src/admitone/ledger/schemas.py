"""Response models of the ledger API: money as decimal strings in its currency (rule 6)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from admitone.core.money import Money
from admitone.ledger.reports import (
    CurrencySummary,
    CurrencyTotals,
    EventLedgerSummary,
    TrialBalance,
    TrialBalanceRow,
)


def _decimal(amount: int, currency: str) -> str:
    return Money(amount, currency).to_decimal_string()


class CurrencySummaryOut(BaseModel):
    currency: str
    revenue: str = Field(description="Payments captured for the event's orders.")
    fees: str = Field(description="Processing fees kept by the payment gateway.")
    refunds: str = Field(description="Revenue given back to buyers.")
    net: str = Field(description="revenue - refunds - fees")
    refund_liability: str = Field(
        description="Late payments (after the order expired) still owed back to buyers; "
        "never part of revenue or net."
    )
    tax_payable: str = Field(
        description="Tax collected with the event's payments, less refunds: owed to the tax "
        "office, never part of revenue or net."
    )

    @classmethod
    def of(cls, s: CurrencySummary) -> CurrencySummaryOut:
        return cls(
            currency=s.currency,
            revenue=_decimal(s.revenue, s.currency),
            fees=_decimal(s.fees, s.currency),
            refunds=_decimal(s.refunds, s.currency),
            net=_decimal(s.net, s.currency),
            refund_liability=_decimal(s.refund_liability, s.currency),
            tax_payable=_decimal(s.tax_payable, s.currency),
        )


class EventLedgerOut(BaseModel):
    event_id: uuid.UUID
    currencies: list[CurrencySummaryOut]

    @classmethod
    def of(cls, summary: EventLedgerSummary) -> EventLedgerOut:
        return cls(
            event_id=summary.event_id,
            currencies=[CurrencySummaryOut.of(c) for c in summary.currencies],
        )


class TrialBalanceRowOut(BaseModel):
    organizer_id: uuid.UUID
    currency: str
    account: str
    account_type: str
    event_id: uuid.UUID | None
    debits: str
    credits: str
    balance: str = Field(
        description="On the account's normal side: debit for assets, "
        "expenses and refunds; credit for revenue and liabilities."
    )

    @classmethod
    def of(cls, row: TrialBalanceRow) -> TrialBalanceRowOut:
        return cls(
            organizer_id=row.organizer_id,
            currency=row.currency,
            account=row.code,
            account_type=row.account_type,
            event_id=row.event_id,
            debits=_decimal(row.debits, row.currency),
            credits=_decimal(row.credits, row.currency),
            balance=_decimal(row.balance, row.currency),
        )


class CurrencyTotalsOut(BaseModel):
    currency: str
    debits: str
    credits: str

    @classmethod
    def of(cls, totals: CurrencyTotals) -> CurrencyTotalsOut:
        return cls(
            currency=totals.currency,
            debits=_decimal(totals.debits, totals.currency),
            credits=_decimal(totals.credits, totals.currency),
        )


class TrialBalanceOut(BaseModel):
    accounts: list[TrialBalanceRowOut]
    totals: list[CurrencyTotalsOut] = Field(description="Per currency; never added across.")
    balanced: bool

    @classmethod
    def of(cls, trial: TrialBalance) -> TrialBalanceOut:
        return cls(
            accounts=[TrialBalanceRowOut.of(r) for r in trial.rows],
            totals=[CurrencyTotalsOut.of(t) for t in trial.totals],
            balanced=trial.balanced,
        )
