"""Posting a journal entry: validate it, write it lines first, and answer a replay with the
entry that is already there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.money import MAX_MINOR_UNITS
from admitone.ledger import repository
from admitone.ledger.chart import EntryKind
from admitone.ledger.errors import EntryKeyConflict, InvalidAmount, UnbalancedEntry
from admitone.ledger.models import JournalEntry, JournalLine


@dataclass(frozen=True, slots=True)
class Line:
    account_id: uuid.UUID
    debit: int = 0
    credit: int = 0


@dataclass(frozen=True, slots=True)
class Draft:
    key: str
    kind: EntryKind
    organizer_id: uuid.UUID
    currency: str
    lines: tuple[Line, ...]
    event_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    gateway_ref: str | None = None
    reverses_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    entry: JournalEntry
    created: bool  # False when the key had already posted it (a replay)


def check_amount(amount: int, field: str = "amount") -> int:
    # bool is an int in Python; True is not one cent.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmount(field=field, details={"value": repr(amount)[:40]})
    if amount > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.", field=field)
    return amount


def balance_of(lines: tuple[Line, ...]) -> int:
    """The entry's amount: the sum of its debits, refused unless it equals the credits."""
    if len(lines) < 2:
        raise UnbalancedEntry("A journal entry needs at least two lines.")
    for line in lines:
        sides = (line.debit, line.credit)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in sides) or (
            (line.debit > 0) == (line.credit > 0)
        ):
            raise UnbalancedEntry("Each line is either a positive debit or a positive credit.")
    debits = sum(line.debit for line in lines)
    credits = sum(line.credit for line in lines)
    if debits != credits:
        raise UnbalancedEntry(details={"debits": debits, "credits": credits})
    return debits


async def post(uow: UnitOfWork, draft: Draft) -> Posted:
    amount = balance_of(draft.lines)
    session = uow.session
    existing = await repository.entry_by_key(session, draft.key)
    if existing is not None:
        return Posted(_same_movement(existing, draft, amount), created=False)

    entry_id = new_uuid()
    entry = JournalEntry(
        id=entry_id,
        key=draft.key,
        kind=draft.kind.value,
        organizer_id=draft.organizer_id,
        currency=draft.currency,
        amount=amount,
        event_id=draft.event_id,
        order_id=draft.order_id,
        gateway_ref=draft.gateway_ref,
        reverses_id=draft.reverses_id,
        posted_at=uow.clock.now(),
    )
    lines = [
        JournalLine(
            id=new_uuid(),
            entry_id=entry_id,
            position=position,
            account_id=line.account_id,
            debit=line.debit,
            credit=line.credit,
        )
        for position, line in enumerate(draft.lines)
    ]
    try:
        async with session.begin_nested():
            # Lines first, header last: the header's insert trigger seals the entry after
            # checking that the lines balance (see models.py). Two flushes, because one flush
            # would order the header first by its foreign key.
            session.add_all(lines)
            await session.flush()
            session.add(entry)
            await session.flush()
    except IntegrityError:
        # A concurrent replay of the same webhook won the key; answer with its entry.
        existing = await repository.entry_by_key(session, draft.key)
        if existing is None:
            raise
        return Posted(_same_movement(existing, draft, amount), created=False)
    return Posted(entry, created=True)


def _same_movement(existing: JournalEntry, draft: Draft, amount: int) -> JournalEntry:
    recorded = (
        existing.kind,
        existing.organizer_id,
        existing.currency,
        existing.amount,
        existing.event_id,
        existing.order_id,
    )
    replayed = (
        draft.kind.value,
        draft.organizer_id,
        draft.currency,
        amount,
        draft.event_id,
        draft.order_id,
    )
    if recorded != replayed:
        raise EntryKeyConflict(details={"key": draft.key, "entry_id": str(existing.id)})
    return existing
