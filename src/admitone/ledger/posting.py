"""Posting journal entries: validate them, write them lines first, and answer a replay with the
entry that is already there."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.money import MAX_MINOR_UNITS
from admitone.ledger import repository
from admitone.ledger.chart import EntryKind
from admitone.ledger.errors import EntryKeyConflict, InvalidAmount, UnbalancedEntry
from admitone.ledger.models import JournalEntry, JournalLine

# Written with Core: one multi-row INSERT per table, without the ORM's unit of work.
_ENTRIES = cast(Table, JournalEntry.__table__)
_LINES = cast(Table, JournalLine.__table__)


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
    subscription_id: uuid.UUID | None = None


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
    [posted] = await post_all(uow, (draft,))
    return posted


async def post_all(uow: UnitOfWork, drafts: Sequence[Draft]) -> list[Posted]:
    """Post ``drafts`` all or none: a fresh posting costs one savepoint and two INSERTs however
    many drafts there are. A replayed key answers with its entry, as ``post`` does."""
    rows = [_rows(uow, draft) for draft in drafts]
    if not rows:
        return []
    session = uow.session
    # The caller's pending changes are flushed outside the savepoint: their errors are the
    # caller's, not a replay to answer below.
    await session.flush()
    try:
        entries = await _insert(session, rows)
    except IntegrityError:
        # Keys are not looked up first: replays are rare, and a lookup would cost every fresh
        # posting a round trip. One by one, each draft finds its replay (a retried webhook, a
        # fee its job posted first) or posts; with several, inside one more savepoint, so that a
        # conflict on one leaves none of the others written.
        async with session.begin_nested():
            return [await _post_one(session, one) for one in rows]
    return [Posted(entry, created=True) for entry in entries]


@dataclass(frozen=True, slots=True)
class _Rows:
    draft: Draft
    header: dict[str, Any]
    lines: list[dict[str, Any]]


def _rows(uow: UnitOfWork, draft: Draft) -> _Rows:
    entry_id = new_uuid()
    header = {
        "id": entry_id,
        "key": draft.key,
        "kind": draft.kind.value,
        "organizer_id": draft.organizer_id,
        "currency": draft.currency,
        "amount": balance_of(draft.lines),
        "event_id": draft.event_id,
        "order_id": draft.order_id,
        "subscription_id": draft.subscription_id,
        "gateway_ref": draft.gateway_ref,
        "reverses_id": draft.reverses_id,
        "posted_at": uow.clock.now(),
    }
    lines = [
        {
            "id": new_uuid(),
            "entry_id": entry_id,
            "position": position,
            "account_id": line.account_id,
            "debit": line.debit,
            "credit": line.credit,
        }
        for position, line in enumerate(draft.lines)
    ]
    return _Rows(draft, header, lines)


async def _insert(session: AsyncSession, rows: Sequence[_Rows]) -> list[JournalEntry]:
    async with session.begin_nested():
        # Lines first, headers last: a header's insert trigger seals its entry after checking
        # that its lines balance (see models.py).
        await session.execute(insert(_LINES), [line for one in rows for line in one.lines])
        await session.execute(insert(_ENTRIES), [one.header for one in rows])
    entries = [JournalEntry(**one.header) for one in rows]
    for entry in entries:
        # Written without the ORM: the object is a loaded copy of its row, not a pending insert.
        make_transient_to_detached(entry)
    return entries


async def _post_one(session: AsyncSession, one: _Rows) -> Posted:
    draft, amount = one.draft, one.header["amount"]
    existing = await repository.entry_by_key(session, draft.key)
    if existing is None:
        try:
            [entry] = await _insert(session, (one,))
            return Posted(entry, created=True)
        except IntegrityError:
            # A concurrent replay of the same webhook won the key; answer with its entry.
            existing = await repository.entry_by_key(session, draft.key)
            if existing is None:
                raise
    return Posted(_same_movement(existing, draft, amount), created=False)


def _same_movement(existing: JournalEntry, draft: Draft, amount: int) -> JournalEntry:
    recorded = (
        existing.kind,
        existing.organizer_id,
        existing.currency,
        existing.amount,
        existing.event_id,
        existing.order_id,
        existing.subscription_id,
    )
    replayed = (
        draft.kind.value,
        draft.organizer_id,
        draft.currency,
        amount,
        draft.event_id,
        draft.order_id,
        draft.subscription_id,
    )
    if recorded != replayed:
        raise EntryKeyConflict(details={"key": draft.key, "entry_id": str(existing.id)})
    return existing
