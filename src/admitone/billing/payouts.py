"""An organizer's payouts: per event, UTC month and currency, what buyers paid (gross, tax
included), what the gateway kept (fees), what went back (refunds, tax included), the tax still
owed, and what is the organizer's: net = gross - fees - refunds - tax.

Read from the ledger over a window of whole months, at most ``MAX_MONTHS`` long: the answer is
bounded by the organizer's events times the window, so it is not paginated.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from admitone.billing.errors import PayoutsForOrganizers
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotAuthenticated
from admitone.ledger import service as ledger_service

MAX_MONTHS = 12
# From 1970-01: every month the pattern lets through is one the window can be made of.
MONTH_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN, re.ASCII)
_EARLIEST = 1970


@dataclass(frozen=True, slots=True)
class Window:
    first: str  # YYYY-MM, included
    last: str  # YYYY-MM, included

    @property
    def start(self) -> datetime:
        year, month = _parse(self.first, "from")
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        year, month = _parse(self.last, "to")
        if (year, month) == (9999, 12):
            return datetime.max.replace(tzinfo=UTC)
        return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Payouts:
    window: Window
    rows: list[ledger_service.PayoutRow]


async def payouts(
    uow: UnitOfWork,
    actor: Actor,
    *,
    organizer_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    first: str | None,
    last: str | None,
) -> Payouts:
    """The actor's own payouts (an organizer), or every organizer's, or ``organizer_id``'s
    (staff). An organizer asking for another organizer's gets none: the query is theirs."""
    if actor.uuid is None:
        raise NotAuthenticated()
    if not actor.is_staff:
        if actor.role != "organizer":
            raise PayoutsForOrganizers()
        if organizer_id is not None and organizer_id != actor.uuid:
            return Payouts(window_of(uow.clock.now(), first, last), [])
        organizer_id = actor.uuid
    window = window_of(uow.clock.now(), first, last)
    rows = await ledger_service.payouts(
        uow, organizer_id=organizer_id, event_id=event_id, start=window.start, end=window.end
    )
    return Payouts(window, rows)


def window_of(now: datetime, first: str | None, last: str | None) -> Window:
    """``from`` and ``to`` as given; a missing ``to`` is this month, a missing ``from`` the
    window's longest reach back from ``to``."""
    last = last or f"{now.year:04d}-{now.month:02d}"
    year, month = _parse(last, "to")
    if first is None:
        back = max(year * 12 + month - 1 - (MAX_MONTHS - 1), _EARLIEST * 12)
        first = f"{back // 12:04d}-{back % 12 + 1:02d}"
    first_year, first_month = _parse(first, "from")
    span = (year * 12 + month) - (first_year * 12 + first_month) + 1
    if span < 1:
        raise InvalidInput("from must not be after to.", field="from")
    if span > MAX_MONTHS:
        raise InvalidInput(f"At most {MAX_MONTHS} months at a time.", field="from")
    return Window(first, last)


def _parse(month: str, field: str) -> tuple[int, int]:
    if not MONTH.fullmatch(month):
        raise InvalidInput("A month is written YYYY-MM, from 1970-01.", field=field)
    return int(month[:4]), int(month[5:])
