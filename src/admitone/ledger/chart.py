"""The chart of accounts: what each account holds, its type, and which side increases it.

Every organizer has its own set of accounts per currency, so one organizer's books balance on
their own and two currencies are never added together. Accounts that explain an event's result
(revenue, fees, refunds, money owed back) are opened per event as well; the gateway balance is
the organizer's whole holding at the payment gateway, across events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    CONTRA_REVENUE = "contra_revenue"
    EXPENSE = "expense"


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountCode(StrEnum):
    GATEWAY_BALANCE = "gateway_balance"
    TICKET_REVENUE = "ticket_revenue"
    PRODUCT_REVENUE = "product_revenue"
    PROCESSING_FEES = "processing_fees"
    REFUNDS = "refunds"
    REFUND_LIABILITY = "refund_liability"
    SUBSCRIPTION_REVENUE = "subscription_revenue"
    SUBSCRIPTION_FEES = "subscription_fees"
    SUBSCRIPTION_REFUNDS = "subscription_refunds"
    TAX_PAYABLE = "tax_payable"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: AccountCode
    type: AccountType
    normal_side: Side
    per_event: bool
    description: str


CHART: Mapping[AccountCode, AccountSpec] = {
    spec.code: spec
    for spec in (
        AccountSpec(
            AccountCode.GATEWAY_BALANCE,
            AccountType.ASSET,
            Side.DEBIT,
            per_event=False,
            description="Money the payment gateway holds for the organizer.",
        ),
        AccountSpec(
            AccountCode.TICKET_REVENUE,
            AccountType.REVENUE,
            Side.CREDIT,
            per_event=True,
            description="Payments captured for the event's orders.",
        ),
        AccountSpec(
            AccountCode.PRODUCT_REVENUE,
            AccountType.REVENUE,
            Side.CREDIT,
            per_event=True,
            description="Payments captured for the shop products sold with the event's orders; "
            "a refund takes its share back out of it.",
        ),
        AccountSpec(
            AccountCode.PROCESSING_FEES,
            AccountType.EXPENSE,
            Side.DEBIT,
            per_event=True,
            description="What the gateway kept for processing the event's payments.",
        ),
        AccountSpec(
            AccountCode.REFUNDS,
            AccountType.CONTRA_REVENUE,
            Side.DEBIT,
            per_event=True,
            description="Revenue given back to buyers of the event.",
        ),
        AccountSpec(
            AccountCode.REFUND_LIABILITY,
            AccountType.LIABILITY,
            Side.CREDIT,
            per_event=True,
            description="Payments that arrived after their order expired or was cancelled: "
            "owed back to the buyer, never revenue.",
        ),
        # A subscription belongs to a plan, not to an event: its accounts are the organizer's.
        AccountSpec(
            AccountCode.SUBSCRIPTION_REVENUE,
            AccountType.REVENUE,
            Side.CREDIT,
            per_event=False,
            description="Payments captured for the periods of the organizer's subscriptions.",
        ),
        AccountSpec(
            AccountCode.SUBSCRIPTION_FEES,
            AccountType.EXPENSE,
            Side.DEBIT,
            per_event=False,
            description="What the gateway kept for processing subscription payments.",
        ),
        AccountSpec(
            AccountCode.SUBSCRIPTION_REFUNDS,
            AccountType.CONTRA_REVENUE,
            Side.DEBIT,
            per_event=False,
            description="Subscription revenue given back to subscribers.",
        ),
        AccountSpec(
            AccountCode.TAX_PAYABLE,
            AccountType.LIABILITY,
            Side.CREDIT,
            per_event=True,
            description="Tax collected with the event's payments and owed to the tax office; "
            "a refund takes its share back out of it.",
        ),
    )
}


class EntryKind(StrEnum):
    PAYMENT_CAPTURED = "payment_captured"
    PROCESSING_FEE = "processing_fee"
    REFUND = "refund"
    LATE_PAYMENT = "late_payment"
    LATE_PAYMENT_REFUNDED = "late_payment_refunded"
    REVERSAL = "reversal"
    SUBSCRIPTION_CHARGE = "subscription_charge"
    SUBSCRIPTION_REFUND = "subscription_refund"


def normal_balance(code: str, debits: int, credits: int) -> int:
    """The balance on the account's own side: positive when it holds what it is meant to."""
    side = CHART[AccountCode(code)].normal_side
    return debits - credits if side is Side.DEBIT else credits - debits
