"""Where every domain says what it holds about a person and what happens to it when that person's
account is deleted.

Each domain registers a ``Claim`` from its own package at import time: the tables it answers for
and a function run inside the deletion's transaction, which deletes what belongs only to the
user and anonymises what the business keeps, and reports how many rows of each kind it touched.
The registry lives in the kernel because the domains that register sit on every layer (payments
and notifications below accounts, ticketing and billing above it). A test walks the schema and
fails on a table holding personal data that no claim names.

A claim may later also export (an ``export`` callable beside ``erase``); only erasure exists now.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from admitone.core.db import UnitOfWork
from admitone.core.errors import Conflict


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose data is erased: the values to look for as well as the account's id."""

    user_id: uuid.UUID
    email: str
    name: str


@dataclass(slots=True)
class Erasure:
    """What a deletion did, as counts per kind of row (``"orders"``, ``"carts"``...), and what
    cannot be undone beyond the deletion itself (a subscription cancelled at the gateway)."""

    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    irreversible: list[str] = field(default_factory=list)

    def count(self, bucket: dict[str, int], kind: str, rows: int) -> None:
        if rows:
            bucket[kind] = bucket.get(kind, 0) + rows


Erase = Callable[[UnitOfWork, Subject, Erasure], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Claim:
    domain: str
    tables: frozenset[str]
    erase: Erase
    # Lower runs first: the purchase pipeline gives seats back before carts and accounts go,
    # and the account row itself goes last.
    stage: int = 50


class UserOwnsOrganizerData(Conflict):
    code = "user_owns_organizer_data"
    default_message = (
        "This user still organizes events, products, plans or coupons; remove them or hand them "
        "over before deleting the account."
    )


_claims: dict[str, Claim] = {}

FIRST = 10
LAST = 90  # the account row itself
AFTER_ACCOUNT = 95


def register(
    domain: str,
    tables: set[str] | frozenset[str],
    erase: Erase,
    *,
    stage: int = 50,
    step: str = "erase",
) -> None:
    """Claim ``tables`` for ``domain``; a domain with more than one ``step`` (before and after
    the account row goes) registers each (again on re-import: the last registration wins)."""
    _claims[f"{domain}:{step}"] = Claim(domain, frozenset(tables), erase, stage)


def claims() -> list[Claim]:
    return sorted(_claims.values(), key=lambda c: (c.stage, c.domain))


def claimed_tables() -> dict[str, str]:
    """Every claimed table, with the domain that claims it."""
    return {table: claim.domain for claim in _claims.values() for table in claim.tables}


async def erase(uow: UnitOfWork, subject: Subject) -> Erasure:
    """Every domain's erasure, in the caller's transaction: one failing undoes them all."""
    erasure = Erasure()
    for claim in claims():
        await claim.erase(uow, subject, erasure)
    await uow.flush()
    return erasure
