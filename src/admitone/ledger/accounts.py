"""Opening ledger accounts on first use."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.ledger import repository
from admitone.ledger.chart import CHART, AccountCode
from admitone.ledger.models import LedgerAccount


async def account_for(
    uow: UnitOfWork,
    organizer_id: uuid.UUID,
    currency: str,
    code: AccountCode,
    event_id: uuid.UUID | None = None,
) -> LedgerAccount:
    """The organizer's account ``code`` in ``currency`` (of ``event_id`` for per-event
    accounts), opened if it does not exist yet."""
    spec = CHART[code]
    scoped_event = event_id if spec.per_event else None
    if spec.per_event and event_id is None:
        raise ValueError(f"the {code} account is kept per event: an event id is required")
    session = uow.session
    found = await repository.find_account(session, organizer_id, currency, code, scoped_event)
    if found is not None:
        return found
    account = LedgerAccount(
        id=new_uuid(),
        organizer_id=organizer_id,
        currency=currency,
        code=code.value,
        account_type=spec.type.value,
        event_id=scoped_event,
        created_at=uow.clock.now(),
    )
    try:
        # Two first payments of a new organizer may race to open the same account; the loser
        # takes the winner's row instead of failing the payment.
        async with session.begin_nested():
            session.add(account)
    except IntegrityError:
        found = await repository.find_account(session, organizer_id, currency, code, scoped_event)
        if found is None:
            raise
        return found
    return account
