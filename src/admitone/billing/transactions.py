"""A user's statement: the money movements of their orders and subscriptions, read from the
ledger (the books are the truth about money), and the credit notes made out to them, read from
billing's documents; newest first, one keyset page at a time.

Amounts are signed from the user's side: what they paid is negative (``-50.00``), what came
back to them (a refund, a credit note) is positive. A credit note documents a cancel or a refund
whose money is its own ``refund`` item: add up the ledger's kinds to get what moved.

Each kind of reference a user owns (their orders, their subscriptions) is a ``Source``: the
ledger's entry kinds read through it and the subquery of the references the user owns, so the
owner's scope is in the one query that reads the entries (rule 8).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select

from admitone.billing import repository, subscriptions
from admitone.billing.models import Invoice
from admitone.core.db import UnitOfWork
from admitone.core.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from admitone.ledger import service as ledger_service
from admitone.ledger.chart import EntryKind
from admitone.ticketing import service as ticketing_service


class TransactionKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    SUBSCRIPTION_CHARGE = "subscription_charge"
    SUBSCRIPTION_REFUND = "subscription_refund"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Kind:
    """What a ledger entry kind is on a user's statement, and which way its money went."""

    name: TransactionKind
    sign: int  # -1: the user paid; +1: the user got it back


@dataclass(frozen=True, slots=True)
class Source:
    """Ledger entries a user owns through one kind of reference (``order_id`` or
    ``subscription_id``), stored in the entry's ``column``."""

    column: ledger_service.ReferenceColumn
    kinds: Mapping[str, Kind]
    owned_by: Callable[[uuid.UUID], Select[Any]]


ORDER_KINDS: Mapping[str, Kind] = {
    EntryKind.PAYMENT_CAPTURED: Kind(TransactionKind.PAYMENT, -1),
    EntryKind.REFUND: Kind(TransactionKind.REFUND, +1),
    # Paid after the order had expired: the user's money still moved, both ways.
    EntryKind.LATE_PAYMENT: Kind(TransactionKind.PAYMENT, -1),
    EntryKind.LATE_PAYMENT_REFUNDED: Kind(TransactionKind.REFUND, +1),
}
ORDERS = Source(
    column="order_id",
    kinds=ORDER_KINDS,
    owned_by=ticketing_service.order_ids_of_buyer,
)


SUBSCRIPTION_KINDS: Mapping[str, Kind] = {
    EntryKind.SUBSCRIPTION_CHARGE: Kind(TransactionKind.SUBSCRIPTION_CHARGE, -1),
    EntryKind.SUBSCRIPTION_REFUND: Kind(TransactionKind.SUBSCRIPTION_REFUND, +1),
}
SUBSCRIPTIONS = Source(
    column="subscription_id",
    kinds=SUBSCRIPTION_KINDS,
    owned_by=subscriptions.ids_of_subscriber,
)

# An entry kind is read through one source only, so an entry is never listed twice.
SOURCES: tuple[Source, ...] = (ORDERS, SUBSCRIPTIONS)


@dataclass(frozen=True, slots=True)
class Transaction:
    id: uuid.UUID
    kind: TransactionKind
    amount: int  # minor units, signed from the user's side
    currency: str
    occurred_at: datetime
    references: dict[str, str | None] = field(default_factory=dict)


async def list_transactions(
    uow: UnitOfWork, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Transaction]:
    """One page of the user's statement, newest first. Each source answers at most a page past
    the cursor; merging them and keeping the first page is exact, the key (time, id) being
    total across both."""
    size = clamp_limit(limit)
    before = decode_cursor(cursor) if cursor else None
    entries = await ledger_service.movements(
        uow,
        [ledger_service.Owned(s.kinds.keys(), s.column, s.owned_by(user_id)) for s in SOURCES],
        before=before,
        limit=size + 1,
    )
    notes = await repository.credit_notes_billed_to(uow, user_id, before=before, limit=size + 1)
    numbers = await repository.invoice_numbers_of_orders(
        uow, {e.order_id for e in entries if e.order_id is not None}
    )
    found = [_of_entry(e, numbers) for e in entries] + [_of_note(n) for n in notes]
    found.sort(key=lambda t: (t.occurred_at, t.id), reverse=True)
    page = found[:size]
    next_cursor = None
    if len(found) > size:
        last = page[-1]
        next_cursor = encode_cursor(last.occurred_at, last.id)
    return Page(page, next_cursor)


def _of_entry(entry: ledger_service.EntryView, numbers: Mapping[uuid.UUID, str]) -> Transaction:
    source = next(s for s in SOURCES if entry.kind in s.kinds)
    kind = source.kinds[entry.kind]
    reference = getattr(entry, source.column)
    references: dict[str, str | None] = {
        "order_id": None,
        "invoice_number": None,
        "subscription_id": None,
    }
    references[source.column] = None if reference is None else str(reference)
    if entry.order_id is not None and source.column == "order_id":
        references["invoice_number"] = numbers.get(entry.order_id)
    return Transaction(
        id=entry.id,
        kind=kind.name,
        amount=kind.sign * entry.amount,
        currency=entry.currency,
        occurred_at=entry.posted_at,
        references=references,
    )


def _of_note(note: Invoice) -> Transaction:
    return Transaction(
        id=note.id,
        kind=TransactionKind.CREDIT_NOTE,
        amount=note.gross_total,
        currency=note.currency,
        occurred_at=note.issued_at,
        references={
            "order_id": str(note.order_id),
            "invoice_number": note.number,
            "subscription_id": None,
        },
    )
