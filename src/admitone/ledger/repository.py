"""Queries over journal entries and ledger accounts."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admitone.ledger.models import JournalEntry, JournalLine, LedgerAccount


async def entry_by_key(session: AsyncSession, key: str) -> JournalEntry | None:
    found: JournalEntry | None = await session.scalar(
        select(JournalEntry).where(JournalEntry.key == key)
    )
    return found


async def entry_by_id(session: AsyncSession, entry_id: uuid.UUID) -> JournalEntry | None:
    return await session.get(JournalEntry, entry_id)


async def lines_of(session: AsyncSession, entry_id: uuid.UUID) -> list[JournalLine]:
    stmt = (
        select(JournalLine).where(JournalLine.entry_id == entry_id).order_by(JournalLine.position)
    )
    return list((await session.scalars(stmt)).all())


async def find_account(
    session: AsyncSession,
    organizer_id: uuid.UUID,
    currency: str,
    code: str,
    event_id: uuid.UUID | None,
) -> LedgerAccount | None:
    stmt = select(LedgerAccount).where(
        LedgerAccount.organizer_id == organizer_id,
        LedgerAccount.currency == currency,
        LedgerAccount.code == code,
        LedgerAccount.event_id.is_(None)
        if event_id is None
        else LedgerAccount.event_id == event_id,
    )
    found: LedgerAccount | None = await session.scalar(stmt)
    return found
