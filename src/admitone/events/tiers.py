"""Ticket tiers of an event: add, change, remove. Capacity never drops below what is taken,
checked in the same UPDATE that changes it so a concurrent purchase cannot slip in between."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.events import repository, validation
from admitone.events.capacity import publish_availability
from admitone.events.errors import (
    CapacityBelowTaken,
    LastTier,
    TierHasTickets,
    TierInUse,
    TierNotFound,
)
from admitone.events.models import Event, Tier
from admitone.events.required_plans import check_tier_plans, distinct
from admitone.events.schemas import TierCreate, TierUpdate


def new_tier(
    event: Event,
    data: TierCreate,
    *,
    position: int,
    now: datetime,
    field: str,
    price_field: str | None = None,
) -> Tier:
    validation.sales_window(data.sales_start, data.sales_end, field)
    return Tier(
        id=new_uuid(),
        event_id=event.id,
        name=data.name,
        price=validation.price(data.price, event.currency, price_field or f"{field}.price"),
        capacity=data.capacity,
        taken=0,
        sales_start=data.sales_start,
        sales_end=data.sales_end,
        max_per_order=data.max_per_order,
        position=data.position if data.position is not None else position,
        required_plan_ids=distinct(data.required_plan_ids),
        tax_name=data.tax_rate.name if data.tax_rate else None,
        tax_rate_bp=data.tax_rate.rate().rate_bp if data.tax_rate else None,
        tax_inclusive=data.tax_rate.inclusive if data.tax_rate else None,
        created_at=now,
        updated_at=now,
    )


async def list_tiers(
    uow: UnitOfWork, viewer: Actor, event_id: uuid.UUID
) -> tuple[Event, list[Tier]]:
    event = await repository.visible_event(uow, viewer, event_id)
    return event, await repository.tiers_of(uow, event.id)


async def _tier(uow: UnitOfWork, event: Event, tier_id: uuid.UUID) -> Tier:
    tier = await repository.tier_of(uow, event.id, tier_id)
    if tier is None:
        raise TierNotFound()
    return tier


async def create_tier(
    uow: UnitOfWork, actor: Actor, event_id: uuid.UUID, data: TierCreate
) -> tuple[Event, Tier]:
    event = await repository.open_event(uow, actor, event_id)
    last = await uow.session.scalar(
        select(func.max(Tier.position)).where(Tier.event_id == event.id)
    )
    now = uow.clock.now()
    tier = new_tier(event, data, position=0 if last is None else last + 1, now=now, field="tier")
    await check_tier_plans(uow, event, tier, "tier")
    uow.session.add(tier)
    event.updated_at = now
    await uow.flush()
    await activity_service.record(
        uow,
        "events.tier_created",
        resource_type="tier",
        resource_uuid=tier.id,
        metadata={
            "event_uuid": event.id,
            "amount": tier.price,
            "currency": event.currency,
            "capacity": tier.capacity,
        },
    )
    await publish_availability(uow, event.id)
    return event, tier


async def update_tier(
    uow: UnitOfWork, actor: Actor, event_id: uuid.UUID, tier_id: uuid.UUID, changes: TierUpdate
) -> tuple[Event, Tier]:
    event = await repository.open_event(uow, actor, event_id)
    tier = await _tier(uow, event, tier_id)
    sent = changes.model_fields_set
    old_price, old_capacity = tier.price, tier.capacity
    now = uow.clock.now()
    if changes.name is not None:
        tier.name = changes.name
    if changes.price is not None:
        # Orders keep the unit price they were sold at; only future sales see the new one.
        tier.price = validation.price(changes.price, event.currency, "tier.price")
    for name in ("sales_start", "sales_end", "max_per_order"):
        if name in sent:
            setattr(tier, name, getattr(changes, name))
    if "tax_rate" in sent:
        # Orders keep the tax they were sold with; only future sales see the new rate.
        tier.tax_rate = changes.tax_rate.rate() if changes.tax_rate else None
    if changes.position is not None:
        tier.position = changes.position
    if changes.required_plan_ids is not None:
        # Tickets already sold stay valid: the plans only gate the sales to come.
        tier.required_plan_ids = distinct(changes.required_plan_ids)
        await check_tier_plans(uow, event, tier, "tier")
    validation.sales_window(tier.sales_start, tier.sales_end, "tier")
    tier.updated_at = now
    event.updated_at = now
    if changes.capacity is not None:
        await set_tier_capacity(uow, tier, changes.capacity, field="tier.capacity")
    await uow.flush()
    await activity_service.record(
        uow,
        "events.tier_updated",
        resource_type="tier",
        resource_uuid=tier.id,
        metadata={
            "event_uuid": event.id,
            "old_amount": old_price,
            "new_amount": tier.price,
            "currency": event.currency,
            "old_capacity": old_capacity,
            "new_capacity": tier.capacity,
        },
    )
    await publish_availability(uow, event.id)
    return event, tier


async def set_tier_capacity(uow: UnitOfWork, tier: Tier, capacity: int, *, field: str) -> None:
    await uow.flush()
    done = await uow.session.scalar(
        update(Tier)
        .where(Tier.id == tier.id, Tier.taken <= capacity)
        .values(capacity=capacity)
        .returning(Tier.id)
        .execution_options(synchronize_session=False)
    )
    await uow.session.refresh(tier, ["taken", "capacity"])
    if done is None:
        raise CapacityBelowTaken(
            field=field,
            details={"tier_id": str(tier.id), "taken": tier.taken, "requested": capacity},
        )


async def delete_tier(
    uow: UnitOfWork, actor: Actor, event_id: uuid.UUID, tier_id: uuid.UUID
) -> None:
    event = await repository.open_event(uow, actor, event_id)
    tier = await _tier(uow, event, tier_id)
    others = await uow.session.scalar(
        select(func.count()).select_from(Tier).where(Tier.event_id == event.id, Tier.id != tier.id)
    )
    if not others:
        raise LastTier()
    # Conditional on taken = 0 in the statement itself: a purchase may take a seat meanwhile.
    try:
        gone = await uow.session.scalar(
            delete(Tier)
            .where(Tier.id == tier.id, Tier.taken == 0)
            .returning(Tier.id)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError as exc:  # order lines of past (refunded) sales still point here
        raise TierInUse(details={"tier_id": str(tier.id)}) from exc
    if gone is None:
        raise TierHasTickets(details={"tier_id": str(tier.id)})
    uow.session.expunge(tier)
    event.updated_at = uow.clock.now()
    await uow.flush()
    await activity_service.record(
        uow,
        "events.tier_deleted",
        resource_type="tier",
        resource_uuid=tier_id,
        metadata={"event_uuid": event.id, "capacity": tier.capacity},
    )
    await publish_availability(uow, event.id)
