"""Opening ledger accounts on first use."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.ledger import repository
from admitone.ledger.chart import CHART, AccountCode
from admitone.ledger.models import LedgerAccount

# Accounts are append-only and never change identity, so their ids are cached in-process, per
# database, once the transaction that found or opened them has committed (never before: a
# rolled-back opening would leave an id that does not exist). Bounded: cleared when full.
_CacheKey = tuple[str, uuid.UUID, str, str, uuid.UUID | None]
_ids: dict[_CacheKey, uuid.UUID] = {}
_MAX_CACHED = 50_000


async def account_id_for(
    uow: UnitOfWork,
    organizer_id: uuid.UUID,
    currency: str,
    code: AccountCode,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The id of ``account_for``'s account, without a query once it is known."""
    scoped_event = event_id if CHART[code].per_event else None
    bind = uow.session.bind
    key: _CacheKey = (
        str(bind.sync_engine.url) if bind is not None else "",
        organizer_id,
        currency,
        code.value,
        scoped_event,
    )
    cached = _ids.get(key)
    if cached is not None:
        return cached
    account_id = (await account_for(uow, organizer_id, currency, code, event_id)).id

    async def remember() -> None:
        if len(_ids) >= _MAX_CACHED:
            _ids.clear()
        _ids[key] = account_id

    uow.after_commit(remember)
    return account_id


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
