"""Ledger use cases, called by payments and ticketing inside their own business transaction,
so a money movement and its journal entry commit or vanish together.

Each recording is idempotent on the gateway's reference: a replayed webhook returns the entry
that is already there. A captured payment and a late payment share one key space (a payment is
either revenue or money owed back, never both), and so do a refund and the refund of a late
payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from admitone.activity import service as activity_service
from admitone.core.actor import Actor, acting_as, current_actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput
from admitone.core.money import validate_currency
from admitone.ledger import reports, repository
from admitone.ledger.accounts import account_id_for
from admitone.ledger.chart import AccountCode, EntryKind
from admitone.ledger.errors import EntryNotFound
from admitone.ledger.models import JournalEntry
from admitone.ledger.posting import Draft, Line, Posted, check_amount, post, post_all
from admitone.ledger.reports import EventLedgerSummary, TrialBalance

__all__ = [
    "EventLedgerSummary",
    "Transfer",
    "TrialBalance",
    "event_summary",
    "gateway_balance",
    "lines_of",
    "record_late_payment",
    "record_late_payment_refunded",
    "record_payment_captured",
    "record_payments_captured",
    "record_processing_fee",
    "record_refund",
    "refund_posted",
    "reverse_entry",
    "trial_balance",
]

_MAX_REF = 200


class _Movement(NamedTuple):
    kind: EntryKind
    key_space: str
    debit: AccountCode
    credit: AccountCode
    action: str  # of its activity entry
    activity_kind: str


_PAYMENT_CAPTURED = _Movement(
    EntryKind.PAYMENT_CAPTURED,
    "payment",
    AccountCode.GATEWAY_BALANCE,
    AccountCode.TICKET_REVENUE,
    "billing.payment_captured",
    "ticket_sale",
)
_PROCESSING_FEE = _Movement(
    EntryKind.PROCESSING_FEE,
    "fee",
    AccountCode.PROCESSING_FEES,
    AccountCode.GATEWAY_BALANCE,
    "billing.fee_recorded",
    "processing_fee",
)
_REFUND = _Movement(
    EntryKind.REFUND,
    "refund",
    AccountCode.REFUNDS,
    AccountCode.GATEWAY_BALANCE,
    "billing.refund_issued",
    "refund",
)
_LATE_PAYMENT = _Movement(
    EntryKind.LATE_PAYMENT,
    "payment",
    AccountCode.GATEWAY_BALANCE,
    AccountCode.REFUND_LIABILITY,
    "billing.payment_captured",
    "late_payment",
)
_LATE_PAYMENT_REFUNDED = _Movement(
    EntryKind.LATE_PAYMENT_REFUNDED,
    "refund",
    AccountCode.REFUND_LIABILITY,
    AccountCode.GATEWAY_BALANCE,
    "billing.refund_issued",
    "late_payment",
)

_MOVEMENTS = {
    movement.kind: movement
    for movement in (
        _PAYMENT_CAPTURED,
        _PROCESSING_FEE,
        _REFUND,
        _LATE_PAYMENT,
        _LATE_PAYMENT_REFUNDED,
    )
}


async def record_payment_captured(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    gateway_ref: str,
    fee: int | None = None,
) -> JournalEntry:
    """The buyer paid for a live order: the gateway now holds it, and it is the event's revenue.
    Dr gateway_balance / Cr ticket_revenue. A ``fee`` already known is posted with it, as
    ``record_processing_fee`` would, in the same savepoint. Returns the payment's entry."""
    return await _transfer(
        uow,
        _PAYMENT_CAPTURED,
        organizer_id=organizer_id,
        event_id=event_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        gateway_ref=gateway_ref,
        fee=fee,
    )


async def record_processing_fee(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    fee: int,
    currency: str,
    gateway_ref: str,
) -> JournalEntry:
    """The gateway kept its fee out of the money it holds. Dr processing_fees / Cr
    gateway_balance. A zero fee is not a movement: the caller records nothing."""
    return await _transfer(
        uow,
        _PROCESSING_FEE,
        organizer_id=organizer_id,
        event_id=event_id,
        order_id=order_id,
        amount=check_amount(fee, "fee"),
        currency=currency,
        gateway_ref=gateway_ref,
    )


async def record_refund(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    gateway_ref: str,
) -> JournalEntry:
    """Revenue given back to the buyer. Dr refunds / Cr gateway_balance."""
    return await _transfer(
        uow,
        _REFUND,
        organizer_id=organizer_id,
        event_id=event_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        gateway_ref=gateway_ref,
    )


async def refund_posted(uow: UnitOfWork, gateway_ref: str) -> bool:
    """Whether a refund (of revenue or of a late payment) is posted under the gateway's
    reference: how a caller that must count each refund once learns it has been."""
    key = f"{_REFUND.key_space}:{_ref(gateway_ref)}"
    return await repository.entry_by_key(uow.session, key) is not None


async def record_late_payment(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    gateway_ref: str,
    fee: int | None = None,
) -> JournalEntry:
    """A payment for an order that had already expired or was cancelled: the gateway holds it,
    but it is owed back to the buyer, never revenue. Dr gateway_balance / Cr refund_liability.
    A ``fee`` already known is posted with it, as in ``record_payment_captured``."""
    return await _transfer(
        uow,
        _LATE_PAYMENT,
        organizer_id=organizer_id,
        event_id=event_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        gateway_ref=gateway_ref,
        fee=fee,
    )


async def record_late_payment_refunded(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    gateway_ref: str,
) -> JournalEntry:
    """A late payment went back to the buyer, settling what was owed. Dr refund_liability /
    Cr gateway_balance."""
    return await _transfer(
        uow,
        _LATE_PAYMENT_REFUNDED,
        organizer_id=organizer_id,
        event_id=event_id,
        order_id=order_id,
        amount=amount,
        currency=currency,
        gateway_ref=gateway_ref,
    )


async def reverse_entry(uow: UnitOfWork, entry_id: uuid.UUID) -> JournalEntry:
    """Cancel an entry posted in error by posting its mirror image; the original stays as it
    was, so the books show both the mistake and its correction. Reversing twice returns the
    first reversal."""
    original = await repository.entry_by_id(uow.session, entry_id)
    if original is None:
        raise EntryNotFound()
    lines = await repository.lines_of(uow.session, entry_id)
    posted = await post(
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


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a movement posts: the money of one order, and the gateway's fee on it if known."""

    organizer_id: uuid.UUID
    event_id: uuid.UUID
    order_id: uuid.UUID
    amount: int
    currency: str
    gateway_ref: str
    fee: int | None = None
    actor: Actor | None = None  # whose activity the entries are; None: the current actor


async def record_payments_captured(uow: UnitOfWork, payments: Sequence[Transfer]) -> None:
    """``record_payment_captured`` for several orders at once (the purchases of one group
    commit), all their entries in one posting."""
    await _transfers(uow, _PAYMENT_CAPTURED, payments)


async def _transfer(
    uow: UnitOfWork,
    movement: _Movement,
    *,
    organizer_id: uuid.UUID,
    event_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: int,
    currency: str,
    gateway_ref: str,
    fee: int | None = None,
) -> JournalEntry:
    """Post ``amount`` from one account to another (every movement of the chart is one), with
    the gateway's ``fee`` on it if given. Returns the entry of ``movement``."""
    transfer = Transfer(organizer_id, event_id, order_id, amount, currency, gateway_ref, fee)
    return (await _transfers(uow, movement, [transfer]))[0].entry


async def _transfers(
    uow: UnitOfWork, movement: _Movement, transfers: Sequence[Transfer]
) -> list[Posted]:
    """Post the ``transfers`` together, and record each entry's activity the first time only,
    as its transfer's actor."""
    drafts = [draft for transfer in transfers for draft in await _drafts(uow, movement, transfer)]
    actors: dict[uuid.UUID | None, Actor] = {
        transfer.order_id: transfer.actor or current_actor() for transfer in transfers
    }
    posted = await post_all(uow, drafts)
    for one in posted:
        if not one.created:
            continue
        entry = one.entry
        movement_of_entry = _MOVEMENTS[EntryKind(entry.kind)]
        with acting_as(actors[entry.order_id]):
            await activity_service.record(
                uow,
                movement_of_entry.action,
                resource_type="order",
                resource_uuid=entry.order_id,
                metadata={
                    "order_uuid": entry.order_id,
                    "event_uuid": entry.event_id,
                    "amount": entry.amount,
                    "currency": entry.currency,
                    "kind": movement_of_entry.activity_kind,
                },
            )
    return posted


async def _drafts(uow: UnitOfWork, movement: _Movement, transfer: Transfer) -> list[Draft]:
    steps = [(movement, check_amount(transfer.amount))]
    if transfer.fee is not None:
        steps.append((_PROCESSING_FEE, check_amount(transfer.fee, "fee")))
    code = validate_currency(transfer.currency)
    ref = _ref(transfer.gateway_ref)
    organizer_id, event_id = transfer.organizer_id, transfer.event_id
    drafts = []
    for step, amount in steps:
        debit = await account_id_for(uow, organizer_id, code, step.debit, event_id)
        credit = await account_id_for(uow, organizer_id, code, step.credit, event_id)
        drafts.append(
            Draft(
                key=f"{step.key_space}:{ref}",
                kind=step.kind,
                organizer_id=organizer_id,
                currency=code,
                lines=(Line(debit, debit=amount), Line(credit, credit=amount)),
                event_id=event_id,
                order_id=transfer.order_id,
                gateway_ref=ref,
            )
        )
    return drafts


def _ref(gateway_ref: str) -> str:
    ref = gateway_ref.strip() if isinstance(gateway_ref, str) else ""
    if not ref or len(ref) > _MAX_REF:
        raise InvalidInput(
            "A gateway reference of 1 to 200 characters is required.", field="gateway_ref"
        )
    return ref
