"""The books are untouched by a deletion: they name accounts, orders and subscriptions by id,
never a person, and are append-only."""

from __future__ import annotations

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register


async def keep_books(_uow: UnitOfWork, _subject: Subject, _erasure: Erasure) -> None:
    return None


register("ledger", {"ledger_accounts", "ledger_entries", "ledger_lines"}, keep_books)
