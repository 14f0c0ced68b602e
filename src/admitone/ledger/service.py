"""Ledger use cases, called by payments and ticketing inside their own business transaction,
so a money movement and its journal entry commit or vanish together.

Each recording is idempotent on the gateway's reference: a replayed webhook returns the entry
that is already there. A captured payment and a late payment share one key space (a payment is
either revenue or money owed back, never both), and so do a refund and the refund of a late
payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from admitone.activity import service as activity_service
from admitone.core.actor import Actor, acting_as, current_actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput
from admitone.core.money import validate_currency
from admitone.ledger import posting, reports, repository, statements
from admitone.ledger.accounts import account_id_for
from admitone.ledger.chart import AccountCode, EntryKind
from admitone.ledger.errors import EntryNotFound
from admitone.ledger.models import JournalEntry
from admitone.ledger.posting import Draft, Line, check_amount
from admitone.ledger.reports import EventLedgerSummary, TrialBalance
from admitone.ledger.statements import EntryView, Owned, PayoutRow, ReferenceColumn

__all__ = [
    "EntryView",
    "EventLedgerSummary",
    "Movement",
    "Owned",
    "PayoutRow",
    "ReferenceColumn",
    "SubscriptionMoney",
    "Transfer",
    "TrialBalance",
    "event_summary",
    "gateway_balance",
    "latest_of_order",
    "lines_of",
    "movements",
    "payouts",
    "post",
    "refund_posted",
    "reverse_entry",
    "subscription_charged",
    "subscription_refunded",
    "trial_balance",
]

_MAX_REF = 200


@dataclass(frozen=True, slots=True)
class _Leg:
    kind: EntryKind
    key_space: str
    debit: AccountCode
    credit: AccountCode
    action: str  # of its activity entry
    activity_kind: str


class Movement(Enum):
    """Every movement of the chart moves an amount from one account to another."""

    # The buyer paid for a live order: the gateway now holds it, and it is the event's revenue.
    PAYMENT_CAPTURED = _Leg(
        EntryKind.PAYMENT_CAPTURED,
        "payment",
        AccountCode.GATEWAY_BALANCE,
        AccountCode.TICKET_REVENUE,
        "billing.payment_captured",
        "ticket_sale",
    )
    # The gateway kept its fee out of the money it holds. A zero fee is not a movement: the
    # caller posts nothing.
    PROCESSING_FEE = _Leg(
        EntryKind.PROCESSING_FEE,
        "fee",
        AccountCode.PROCESSING_FEES,
        AccountCode.GATEWAY_BALANCE,
        "billing.fee_recorded",
        "processing_fee",
    )
    # Revenue given back to the buyer.
    REFUND = _Leg(
        EntryKind.REFUND,
        "refund",
        AccountCode.REFUNDS,
        AccountCode.GATEWAY_BALANCE,
        "billing.refund_issued",
        "refund",
    )
    # A payment for an order that had already expired or was cancelled: the gateway holds it,
    # but it is owed back to the buyer, never revenue.
    LATE_PAYMENT = _Leg(
        EntryKind.LATE_PAYMENT,
        "payment",
        AccountCode.GATEWAY_BALANCE,
        AccountCode.REFUND_LIABILITY,
        "billing.payment_captured",
        "late_payment",
    )
    # A late payment went back to the buyer, settling what was owed.
    LATE_PAYMENT_REFUNDED = _Leg(
        EntryKind.LATE_PAYMENT_REFUNDED,
        "refund",
        AccountCode.REFUND_LIABILITY,
        AccountCode.GATEWAY_BALANCE,
        "billing.refund_issued",
        "late_payment",
    )


_BY_KIND = {movement.value.kind: movement.value for movement in Movement}


@dataclass(frozen=True, slots=True)
class Transfer:
    """The money of one order moved by a movement, and the gateway's fee on it if known (a
    payment's fee is posted with it, in the same savepoint)."""

    organizer_id: uuid.UUID
    event_id: uuid.UUID
    order_id: uuid.UUID
    amount: int
    currency: str
    gateway_ref: str
    fee: int | None = None
    actor: Actor | None = None  # whose activity the entries are; None: the current actor
    # The part of ``amount`` that is shop products (a payment or a refund of an order with
    # product lines): credited to, or taken back out of, product revenue instead of tickets'.
    products: int = 0
    # The part of ``amount`` that is tax: owed to the tax office (``tax_payable``), never
    # revenue; a refund takes it back out of that liability.
    tax: int = 0


async def post(
    uow: UnitOfWork, movement: Movement, transfers: Sequence[Transfer]
) -> list[JournalEntry]:
    """Post ``movement`` for each of the ``transfers`` (and their fees), all in one posting;
    answers each transfer's entry of ``movement``, in order. Idempotent on the gateway's
    reference: a replay answers with the entry already there. Each entry's activity is recorded
    the first time only, as its transfer's actor."""
    drafts: list[Draft] = []
    firsts: list[int] = []  # where each transfer's entry of ``movement`` is among the drafts
    for transfer in transfers:
        firsts.append(len(drafts))
        drafts.extend(await _drafts(uow, movement, transfer))
    actors: dict[uuid.UUID | None, Actor] = {
        transfer.order_id: transfer.actor or current_actor() for transfer in transfers
    }
    posted = await posting.post_all(uow, drafts)
    for one in posted:
        if not one.created:
            continue
        entry = one.entry
        leg = _BY_KIND[EntryKind(entry.kind)]
        with acting_as(actors[entry.order_id]):
            await activity_service.record(
                uow,
                leg.action,
                resource_type="order",
                resource_uuid=entry.order_id,
                metadata={
                    "order_uuid": entry.order_id,
                    "event_uuid": entry.event_id,
                    "amount": entry.amount,
                    "currency": entry.currency,
                    "kind": leg.activity_kind,
                },
            )
    return [posted[first].entry for first in firsts]


@dataclass(frozen=True, slots=True)
class SubscriptionMoney:
    """A subscription's payment or refund: the organizer's, across events."""

    organizer_id: uuid.UUID
    subscription_id: uuid.UUID
    amount: int
    currency: str
    gateway_ref: str  # the charge's id for a payment, the refund's for a refund
    fee: int | None = None


async def subscription_charged(uow: UnitOfWork, money: SubscriptionMoney) -> JournalEntry:
    """A period's payment as subscription revenue, and the gateway's fee, in one posting; keyed
    by the charge, so a replayed webhook or a retried job posts nothing twice."""
    ref = _ref(money.gateway_ref)
    drafts = [
        await _subscription_draft(
            uow,
            money,
            key=f"subscription_payment:{ref}",
            kind=EntryKind.SUBSCRIPTION_CHARGE,
            debit=AccountCode.GATEWAY_BALANCE,
            credit=AccountCode.SUBSCRIPTION_REVENUE,
            amount=check_amount(money.amount),
        )
    ]
    if money.fee:
        drafts.append(await _subscription_fee_draft(uow, money, money.fee))
    posted = await posting.post_all(uow, drafts)
    return posted[0].entry


async def subscription_fee(uow: UnitOfWork, money: SubscriptionMoney, fee: int) -> None:
    """The gateway's fee on a period's payment learnt after the payment was posted; the same
    key as a fee posted with the payment, so it is posted once either way."""
    await posting.post_all(uow, [await _subscription_fee_draft(uow, money, fee)])


async def _subscription_fee_draft(uow: UnitOfWork, money: SubscriptionMoney, fee: int) -> Draft:
    return await _subscription_draft(
        uow,
        money,
        key=f"subscription_fee:{_ref(money.gateway_ref)}",
        kind=EntryKind.PROCESSING_FEE,
        debit=AccountCode.SUBSCRIPTION_FEES,
        credit=AccountCode.GATEWAY_BALANCE,
        amount=check_amount(fee, "fee"),
    )


async def subscription_refunded(uow: UnitOfWork, money: SubscriptionMoney) -> JournalEntry:
    """Subscription revenue given back, keyed by the gateway's refund."""
    draft = await _subscription_draft(
        uow,
        money,
        key=f"subscription_refund:{_ref(money.gateway_ref)}",
        kind=EntryKind.SUBSCRIPTION_REFUND,
        debit=AccountCode.SUBSCRIPTION_REFUNDS,
        credit=AccountCode.GATEWAY_BALANCE,
        amount=check_amount(money.amount),
    )
    return (await posting.post(uow, draft)).entry


async def _subscription_draft(
    uow: UnitOfWork,
    money: SubscriptionMoney,
    *,
    key: str,
    kind: EntryKind,
    debit: AccountCode,
    credit: AccountCode,
    amount: int,
) -> Draft:
    code = validate_currency(money.currency)
    organizer = money.organizer_id
    return Draft(
        key=key,
        kind=kind,
        organizer_id=organizer,
        currency=code,
        lines=(
            Line(await account_id_for(uow, organizer, code, debit), debit=amount),
            Line(await account_id_for(uow, organizer, code, credit), credit=amount),
        ),
        gateway_ref=_ref(money.gateway_ref),
        subscription_id=money.subscription_id,
    )


async def refund_posted(uow: UnitOfWork, gateway_ref: str) -> bool:
    """Whether a refund (of revenue or of a late payment) is posted under the gateway's
    reference: how a caller that must count each refund once learns it has been."""
    key = f"{Movement.REFUND.value.key_space}:{_ref(gateway_ref)}"
    return await repository.entry_by_key(uow.session, key) is not None


async def reverse_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    """Cancel an entry posted in error by posting its mirror image; the original stays as it
    was, so the books show both the mistake and its correction. Reversing twice returns the
    first reversal."""
    original = await repository.entry_by_id(uow.session, entry_id)
    if original is None:
        raise EntryNotFound()
    lines = await repository.lines_of(uow.session, entry_id)
    posted = await posting.post(
        uow,
        Draft(
            key=f"reversal:{entry_id}",
            kind=EntryKind.REVERSAL,
            organizer_id=original.organizer_id,
            currency=original.currency,
            lines=tuple(Line(ln.account_id, debit=ln.credit, credit=ln.debit) for ln in lines),
            event_id=original.event_id,
            order_id=original.order_id,
            gateway_ref=original.gateway_ref,
            reverses_id=original.id,
            subscription_id=original.subscription_id,
        ),
    )
    if posted.created:
        await activity_service.record(
            uow,
            "billing.entry_reversed",
            resource_type="ledger_entry",
            resource_uuid=original.id,
            metadata={"amount": original.amount, "currency": original.currency},
        )
    return posted.entry


async def lines_of(uow: UnitOfWork, entry_id: uuid.UUID) -> list[reports.LineView]:
    return await reports.lines_of(uow.session, entry_id)


async def event_summary(
    uow: UnitOfWork, event_id: uuid.UUID, *, organizer_id: uuid.UUID | None = None
) -> EventLedgerSummary:
    """Revenue, fees, refunds and net of one event per currency; ``organizer_id`` scopes the
    query to that organizer's books (rule 8)."""
    return await reports.event_summary(uow.session, event_id, organizer_id=organizer_id)


async def trial_balance(
    uow: UnitOfWork, *, organizer_id: uuid.UUID | None = None, currency: str | None = None
) -> TrialBalance:
    code = validate_currency(currency) if currency is not None else None
    return await reports.trial_balance(uow.session, organizer_id=organizer_id, currency=code)


async def gateway_balance(uow: UnitOfWork, organizer_id: uuid.UUID, currency: str) -> int:
    """What the gateway should hold for the organizer in ``currency``, in minor units: compare
    it with the gateway's own balance to reconcile."""
    return await reports.gateway_balance(uow.session, organizer_id, validate_currency(currency))


async def movements(
    uow: UnitOfWork,
    owned: Sequence[Owned],
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[EntryView]:
    """The entries of the references a party owns, newest first (a statement's page)."""
    return await statements.movements(uow.session, owned, before=before, limit=limit)


async def latest_of_order(
    uow: UnitOfWork, order_id: uuid.UUID, kinds: Collection[str]
) -> EntryView | None:
    """The order's newest entry of one of ``kinds`` (the refund a change just posted)."""
    return await statements.latest_of_order(uow.session, order_id, kinds)


async def payouts(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> list[PayoutRow]:
    """Gross, fees, refunds and tax per event, UTC month and currency; ``organizer_id`` scopes
    the query to that organizer's books (rule 8), None reads every organizer's (staff)."""
    return await statements.payouts(
        uow.session, organizer_id=organizer_id, event_id=event_id, start=start, end=end
    )


async def _drafts(uow: UnitOfWork, movement: Movement, transfer: Transfer) -> list[Draft]:
    # A fee's amount is reported as the fee, whether posted alone or with its payment.
    field = "fee" if movement is Movement.PROCESSING_FEE else "amount"
    steps = [(movement.value, check_amount(transfer.amount, field))]
    if transfer.fee is not None:
        steps.append((Movement.PROCESSING_FEE.value, check_amount(transfer.fee, "fee")))
    code = validate_currency(transfer.currency)
    ref = _ref(transfer.gateway_ref)
    organizer_id, event_id = transfer.organizer_id, transfer.event_id
    drafts = []
    for step, amount in steps:
        debit = await account_id_for(uow, organizer_id, code, step.debit, event_id)
        credit = await account_id_for(uow, organizer_id, code, step.credit, event_id)
        lines: tuple[Line, ...] = (Line(debit, debit=amount), Line(credit, credit=amount))
        if step.kind in _PRODUCT_SPLIT and (transfer.products > 0 or transfer.tax > 0):
            tax = min(transfer.tax, amount)
            shop = min(transfer.products, amount - tax)
            # Only the accounts a share moves money in: none is opened to stay empty.
            shares: list[tuple[uuid.UUID, int]] = []
            for account, share in (
                (AccountCode.PRODUCT_REVENUE, shop),
                (AccountCode.TAX_PAYABLE, tax),
            ):
                if share > 0:
                    shares.append(
                        (await account_id_for(uow, organizer_id, code, account, event_id), share)
                    )
            lines = _split(step, amount=amount, shares=shares, debit=debit, credit=credit)
        drafts.append(
            Draft(
                key=f"{step.key_space}:{ref}",
                kind=step.kind,
                organizer_id=organizer_id,
                currency=code,
                lines=lines,
                event_id=event_id,
                order_id=transfer.order_id,
                gateway_ref=ref,
            )
        )
    return drafts


# Movements whose amount is revenue, so its shop-product share has an account of its own.
_PRODUCT_SPLIT = frozenset({EntryKind.PAYMENT_CAPTURED, EntryKind.REFUND})


def _split(
    step: _Leg,
    *,
    amount: int,
    shares: Sequence[tuple[uuid.UUID, int]],
    debit: uuid.UUID,
    credit: uuid.UUID,
) -> tuple[Line, ...]:
    """A payment credits each share (product revenue, tax owed) to its own account and tickets
    the rest; a refund takes each share back out of its account (reversing it) and the rest to
    refunds, as before. A zero share is no line (the ledger refuses empty lines)."""
    rest = amount - sum(share for _, share in shares)
    if step.kind is EntryKind.PAYMENT_CAPTURED:
        legs = [Line(debit, debit=amount)]
        legs += [Line(account, credit=share) for account, share in shares if share]
        if rest:
            legs.append(Line(credit, credit=rest))
    else:
        legs = [Line(account, debit=share) for account, share in shares if share]
        if rest:
            legs.append(Line(debit, debit=rest))
        legs.append(Line(credit, credit=amount))
    return tuple(legs)


def _ref(gateway_ref: str) -> str:
    ref = gateway_ref.strip() if isinstance(gateway_ref, str) else ""
    if not ref or len(ref) > _MAX_REF:
        raise InvalidInput(
            "A gateway reference of 1 to 200 characters is required.", field="gateway_ref"
        )
    return ref
