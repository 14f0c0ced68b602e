"""The ledger's read API: an event's result for its organizer and staff, the trial balance for
staff."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query

from admitone.core.actor import current_actor
from admitone.events import service as events_service
from admitone.http.deps import CurrentUser, StaffUser, Uow
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.ledger import service
from admitone.ledger.schemas import EventLedgerOut, TrialBalanceOut

router = api_router(tags=["ledger"])


@router.get("/events/{event_id}/ledger", responses=errors(401, 404, 422))
async def event_ledger(event_id: uuid.UUID, _: CurrentUser, uow: Uow) -> EventLedgerOut:
    """Revenue, fees, refunds and net of the event per currency. Only its organizer and staff
    see it; to anyone else the event does not exist (404)."""
    organizer_id = await events_service.managed_event_organizer(uow, current_actor(), event_id)
    summary = await service.event_summary(uow, event_id, organizer_id=organizer_id)
    return EventLedgerOut.of(summary)


@router.get("/admin/ledger/trial-balance", responses=errors(401, 403, 422))
async def trial_balance(
    _: StaffUser,
    uow: Uow,
    organizer_id: uuid.UUID | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
) -> TrialBalanceOut:
    """Every account's debits, credits and balance, per organizer and currency."""
    trial = await service.trial_balance(uow, organizer_id=organizer_id, currency=currency)
    return TrialBalanceOut.of(trial)
