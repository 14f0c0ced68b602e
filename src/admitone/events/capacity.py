"""The capacity API the ticketing domain buys through: snapshots, purchase checks, and the
atomic counters (rule 5). Nothing here counts orders or tickets: ``taken`` counters are the
truth, so a purchase costs the same after 300,000 sales as after none."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import structlog
from sqlalchemy import select, update

from admitone.core.db import UnitOfWork
from admitone.events import topics
from admitone.events.errors import (
    EventNotFound,
    EventNotOnSale,
    EventOver,
    InvalidQuantity,
    SoldOut,
    TierMaxPerOrder,
    TierNotInEvent,
    TierNotOnSale,
)
from admitone.events.models import Event, EventStatus, Tier
from admitone.events.snapshots import (
    Availability,
    EventSnapshot,
    TierAvailability,
    TierSnapshot,
    availability,
    event_snapshot,
    tier_snapshot,
)

log = structlog.get_logger(__name__)

__all__ = [
    "Availability",
    "EventSnapshot",
    "TierAvailability",
    "TierListing",
    "TierSnapshot",
    "availability",
    "check_purchasable",
    "default_tier_id",
    "event_snapshot",
    "get_event_snapshot",
    "load_snapshot",
    "organizer_of",
    "release",
    "reserve",
    "tier_listings",
    "tier_snapshot",
]


async def load_snapshot(uow: UnitOfWork, event_id: uuid.UUID) -> EventSnapshot | None:
    """The event as stored now, or None when it is missing or deleted. Counters move under
    concurrent purchases, so the rows are re-read rather than taken from the session's identity
    map."""
    event = await uow.session.scalar(
        select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
    )
    if event is None or event.deleted_at is not None:
        return None
    tiers = await uow.session.scalars(
        select(Tier).where(Tier.event_id == event_id).execution_options(populate_existing=True)
    )
    return event_snapshot(event, list(tiers))


async def get_event_snapshot(uow: UnitOfWork, event_id: uuid.UUID) -> EventSnapshot:
    snapshot = await load_snapshot(uow, event_id)
    if snapshot is None:
        raise EventNotFound()
    return snapshot


async def organizer_of(uow: UnitOfWork, event_id: uuid.UUID) -> uuid.UUID:
    """The organizer of an event that is not deleted: one column, for callers (the books) that
    need nothing else of the event."""
    organizer_id = await uow.session.scalar(
        select(Event.organizer_id).where(Event.id == event_id, Event.deleted_at.is_(None))
    )
    if organizer_id is None:
        raise EventNotFound()
    return organizer_id


@dataclass(frozen=True, slots=True)
class TierListing:
    """A tier as a cart shows it: the tier, and whose event in which status it belongs to."""

    tier: TierSnapshot
    organizer_id: uuid.UUID
    event_status: str


async def tier_listings(
    uow: UnitOfWork, tier_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, TierListing]:
    """The tiers of live events among ``tier_ids``, in one query; missing ones are left out."""
    if not tier_ids:
        return {}
    rows = await uow.session.execute(
        select(Tier, Event)
        .join(Event, Event.id == Tier.event_id)
        .where(Tier.id.in_(tier_ids), Event.deleted_at.is_(None))
    )
    return {
        tier.id: TierListing(tier_snapshot(tier, event.currency), event.organizer_id, event.status)
        for tier, event in rows.all()
    }


def default_tier_id(event: EventSnapshot) -> uuid.UUID:
    """The tier a seed-001 purchase (no tier named) buys: the first by position."""
    if not event.tiers:
        raise SoldOut("This event has no ticket tiers.", details={"scope": "event"})
    return event.tiers[0].id


def _check_lines(lines: Mapping[uuid.UUID, int]) -> None:
    if not lines:
        raise InvalidQuantity("At least one ticket is needed.", field="items")
    for tier_id, quantity in lines.items():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidQuantity(field="items", details={"tier_id": str(tier_id)})


async def check_purchasable(
    uow: UnitOfWork,
    event_id: uuid.UUID,
    lines: Mapping[uuid.UUID, int],
    *,
    snapshot: EventSnapshot | None = None,
) -> EventSnapshot:
    """Everything that can be said before taking capacity; ``reserve`` has the final word.
    ``snapshot``: the event as already read in this transaction, instead of reading it again."""
    _check_lines(lines)
    event = snapshot if snapshot is not None else await load_snapshot(uow, event_id)
    if event is None or event.status == EventStatus.DRAFT:
        raise EventNotFound()
    if event.status != EventStatus.PUBLISHED:
        raise EventNotOnSale(details={"status": event.status})
    now = uow.clock.now()
    if event.starts_at <= now:
        raise EventOver()
    for tier_id, quantity in lines.items():
        tier = event.tier(tier_id)
        if tier is None:
            raise TierNotInEvent(field="items", details={"tier_id": str(tier_id)})
        if not tier.sales_open(now):
            raise TierNotOnSale(details={"tier_id": str(tier.id), "tier": tier.name})
        if tier.max_per_order is not None and quantity > tier.max_per_order:
            raise TierMaxPerOrder(
                f"At most {tier.max_per_order} tickets of {tier.name} per order.",
                field="items",
                details={"tier_id": str(tier.id), "max_per_order": tier.max_per_order},
            )
    return event


async def reserve(
    uow: UnitOfWork,
    event_id: uuid.UUID,
    lines: Mapping[uuid.UUID, int],
    *,
    snapshot: EventSnapshot | None = None,
) -> None:
    """Take capacity: one conditional UPDATE per counter, the event first and then the tiers by
    id, so two purchases always lock in the same order and never deadlock. A refusal raises
    ``SoldOut``; the caller's transaction rolls back and with it the increments already made.

    With ``snapshot`` (the event as read earlier in this transaction), the availability is
    published from it and the counters the UPDATEs returned, without reading the event again."""
    _check_lines(lines)
    total = sum(lines.values())
    taken = await uow.session.scalar(
        update(Event)
        .where(
            Event.id == event_id,
            Event.deleted_at.is_(None),
            Event.status == EventStatus.PUBLISHED.value,
            (Event.max_attendees.is_(None)) | (Event.taken + total <= Event.max_attendees),
        )
        .values(taken=Event.taken + total)
        .returning(Event.taken)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        await _explain_event_refusal(uow, event_id, total)
    tiers_taken: dict[uuid.UUID, int] = {}
    for tier_id in sorted(lines):
        quantity = lines[tier_id]
        tier_taken = await uow.session.scalar(
            update(Tier)
            .where(
                Tier.id == tier_id,
                Tier.event_id == event_id,
                Tier.taken + quantity <= Tier.capacity,
            )
            .values(taken=Tier.taken + quantity)
            .returning(Tier.taken)
            .execution_options(synchronize_session=False)
        )
        if tier_taken is None:
            await _explain_tier_refusal(uow, event_id, tier_id, quantity)
        tiers_taken[tier_id] = tier_taken
    if snapshot is None:
        await publish_availability(uow, event_id)
        return
    updated = replace(
        snapshot,
        taken=taken,
        tiers=tuple(
            replace(tier, taken=tiers_taken[tier.id]) if tier.id in tiers_taken else tier
            for tier in snapshot.tiers
        ),
    )
    topics.publish_availability(uow, availability(updated, uow.clock.now()))


async def _explain_event_refusal(uow: UnitOfWork, event_id: uuid.UUID, wanted: int) -> NoReturn:
    row = (
        await uow.session.execute(
            select(Event.status, Event.deleted_at, Event.max_attendees, Event.taken).where(
                Event.id == event_id
            )
        )
    ).one_or_none()
    if row is None or row.deleted_at is not None or row.status == EventStatus.DRAFT:
        raise EventNotFound()
    if row.status != EventStatus.PUBLISHED:
        raise EventNotOnSale(details={"status": row.status})
    remaining = max((row.max_attendees or 0) - row.taken, 0)
    raise SoldOut(
        f"Only {remaining} tickets are left for this event.",
        details={"scope": "event", "remaining": remaining, "requested": wanted},
    )


async def _explain_tier_refusal(
    uow: UnitOfWork, event_id: uuid.UUID, tier_id: uuid.UUID, wanted: int
) -> NoReturn:
    row = (
        await uow.session.execute(
            select(Tier.name, Tier.capacity, Tier.taken).where(
                Tier.id == tier_id, Tier.event_id == event_id
            )
        )
    ).one_or_none()
    if row is None:
        raise TierNotInEvent(field="items", details={"tier_id": str(tier_id)})
    remaining = max(row.capacity - row.taken, 0)
    raise SoldOut(
        f"Only {remaining} {row.name} tickets are left.",
        details={
            "scope": "tier",
            "tier_id": str(tier_id),
            "tier": row.name,
            "remaining": remaining,
            "requested": wanted,
        },
    )


async def release(uow: UnitOfWork, event_id: uuid.UUID, lines: Mapping[uuid.UUID, int]) -> None:
    """Give capacity back (expiry, failure, cancel), in the same lock order as ``reserve``. A
    counter never goes below zero: a release it cannot cover is clamped and logged, because
    refusing it would leave the order that returns the seats stuck."""
    _check_lines(lines)
    total = sum(lines.values())
    await _decrement(uow, Event, Event.id == event_id, total, scope="event", row_id=event_id)
    for tier_id in sorted(lines):
        await _decrement(
            uow,
            Tier,
            (Tier.id == tier_id) & (Tier.event_id == event_id),
            lines[tier_id],
            scope="tier",
            row_id=tier_id,
        )
    await publish_availability(uow, event_id)


async def _decrement(
    uow: UnitOfWork,
    model: type[Event] | type[Tier],
    where: Any,
    amount: int,
    *,
    scope: str,
    row_id: uuid.UUID,
) -> None:
    done = await uow.session.scalar(
        update(model)
        .where(where, model.taken >= amount)
        .values(taken=model.taken - amount)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    if done is not None:
        return
    clamped = await uow.session.scalar(
        update(model)
        .where(where)
        .values(taken=0)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    if clamped is not None:
        log.error("capacity_release_underflow", scope=scope, id=str(row_id), amount=amount)


async def publish_availability(uow: UnitOfWork, event_id: uuid.UUID) -> None:
    """Tell live pages the new counts, after commit. Reads a handful of counter rows, never
    orders."""
    snapshot = await load_snapshot(uow, event_id)
    # The topic is public: a draft's tiers stay unannounced until it is published.
    if snapshot is not None and snapshot.status != EventStatus.DRAFT:
        topics.publish_availability(uow, availability(snapshot, uow.clock.now()))
