"""Queries of events and tiers, scoped by who asks (rule 8: someone else's event is a 404)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select

from admitone.accounts.models import Role
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.events.errors import EventNotEditable, EventNotFound
from admitone.events.models import Event, EventStatus, Tier


def live_events() -> Select[Event]:
    return select(Event).where(Event.deleted_at.is_(None))


def published_event_ids() -> Select[uuid.UUID]:
    """The ids of live published events, for other domains' public listings to filter on in
    their own queries (a product of an event is public while its event is)."""
    return select(Event.id).where(Event.deleted_at.is_(None), Event.status == EventStatus.PUBLISHED)


def may_delete_any(actor: Actor) -> bool:
    """Deleting someone else's event is for the platform owner only (moderation); admins and
    everyone else get a 404, as if the event did not exist."""
    return actor.role == Role.OWNER.value


async def visible_event(uow: UnitOfWork, viewer: Actor, event_id: uuid.UUID) -> Event:
    """A live event the viewer may read: any non-draft, or a draft of their own (or staff)."""
    stmt = live_events().where(Event.id == event_id)
    if not viewer.is_staff:
        stmt = stmt.where(
            (Event.status != EventStatus.DRAFT.value) | (Event.organizer_id == viewer.uuid)
            if viewer.uuid is not None
            else Event.status != EventStatus.DRAFT.value
        )
    event = await uow.session.scalar(stmt)
    if event is None:
        raise EventNotFound()
    return event


async def editable_event(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> Event:
    """A live event the actor may change: their own, or any for staff."""
    stmt = live_events().where(Event.id == event_id)
    if not actor.is_staff:
        if actor.uuid is None:
            raise EventNotFound()
        stmt = stmt.where(Event.organizer_id == actor.uuid)
    event = await uow.session.scalar(stmt.execution_options(populate_existing=True))
    if event is None:
        raise EventNotFound()
    return event


async def open_event(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> Event:
    """An event the actor may change that is still open: completed and cancelled events are
    history, their details and tiers no longer change."""
    event = await editable_event(uow, actor, event_id)
    if event.status in (EventStatus.COMPLETED.value, EventStatus.CANCELLED.value):
        raise EventNotEditable(details={"status": event.status})
    return event


async def tiers_of(uow: UnitOfWork, event_id: uuid.UUID) -> list[Tier]:
    rows = await uow.session.scalars(
        select(Tier)
        .where(Tier.event_id == event_id)
        .order_by(Tier.position, Tier.created_at, Tier.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def tiers_by_event(
    uow: UnitOfWork, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Tier]]:
    found: dict[uuid.UUID, list[Tier]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return found
    rows = await uow.session.scalars(
        select(Tier)
        .where(Tier.event_id.in_(event_ids))
        .order_by(Tier.position, Tier.created_at, Tier.id)
    )
    for tier in rows:
        found[tier.event_id].append(tier)
    return found


async def tier_of(uow: UnitOfWork, event_id: uuid.UUID, tier_id: uuid.UUID) -> Tier | None:
    return await uow.session.scalar(
        select(Tier)
        .where(Tier.id == tier_id, Tier.event_id == event_id)
        .execution_options(populate_existing=True)
    )
