"""Event use cases: create, read, list, update, publish, availability, completion.

Other domains use events through this module only; it re-exports the capacity API
(``capacity``), tier management (``tiers``) and deletion (``deletion``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, update

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.money import exponent
from admitone.core.pagination import Page, paginate
from admitone.events import repository, validation
from admitone.events.capacity import (
    Availability,
    EventSnapshot,
    TierListing,
    TierSnapshot,
    availability,
    check_purchasable,
    default_tier_id,
    event_snapshot,
    get_event_snapshot,
    load_snapshot,
    organizer_of,
    publish_availability,
    release,
    reserve,
    tier_listings,
)
from admitone.events.deletion import (
    delete_event,
    event_has_paid_orders,
    has_existing_orders,
    register_after_delete,
    register_delete_step,
    register_order_checker,
    run_after_delete,
)
from admitone.events.errors import (
    CapacityBelowTaken,
    ConflictingTierInput,
    CurrencyLocked,
    EventHasNoTiers,
    EventNotDraft,
    NoTiers,
    PlanCurrencyMismatch,
    PlanNotFound,
)
from admitone.events.models import Event, EventStatus, RefundPolicy, Tier
from admitone.events.repository import published_event_ids
from admitone.events.required_plans import check_tier_plans, register_plan_check
from admitone.events.schemas import EventCreate, EventUpdate, TierCreate
from admitone.events.tiers import (
    create_tier,
    delete_tier,
    list_tiers,
    new_tier,
    set_tier_capacity,
    update_tier,
)

__all__ = [
    "Availability",
    "EventDetail",
    "EventSnapshot",
    "PlanCurrencyMismatch",
    "PlanNotFound",
    "TierListing",
    "TierSnapshot",
    "availability",
    "check_purchasable",
    "complete_past_events",
    "create_event",
    "create_tier",
    "default_tier_id",
    "delete_event",
    "delete_tier",
    "event_has_paid_orders",
    "get_availability",
    "get_event",
    "get_event_snapshot",
    "has_existing_orders",
    "list_events",
    "list_tiers",
    "load_snapshot",
    "managed_event_organizer",
    "organizer_of",
    "publish_event",
    "published_event_ids",
    "register_after_delete",
    "register_delete_step",
    "register_order_checker",
    "register_plan_check",
    "release",
    "reserve",
    "run_after_delete",
    "tier_listings",
    "update_event",
    "update_tier",
]

GENERAL_ADMISSION = "General admission"


@dataclass(frozen=True)
class EventDetail:
    event: Event
    tiers: list[Tier]

    def snapshot(self) -> EventSnapshot:
        return event_snapshot(self.event, self.tiers)


async def create_event(uow: UnitOfWork, organizer: Actor, data: EventCreate) -> EventDetail:
    if organizer.uuid is None:
        raise ValueError("an event needs a signed-in organizer")
    now = uow.clock.now()
    currency = validation.currency(data.currency)
    validation.schedule(data.date, data.ends_at, now, check_start=True)
    tier_inputs = _initial_tiers(data)
    event = Event(
        id=new_uuid(),
        organizer_id=organizer.uuid,
        name=data.name,
        description=data.description,
        venue=data.venue,
        starts_at=data.date,
        ends_at=data.ends_at,
        timezone=validation.timezone(data.timezone),
        currency=currency,
        status=EventStatus.DRAFT.value,
        max_attendees=data.max_attendees,
        taken=0,
        refund_policy=data.refund_policy.value,
        refund_deadline=validation.refund_deadline(
            data.refund_policy, data.refund_deadline, data.date
        ),
        tax_name=data.default_tax_rate.name if data.default_tax_rate else None,
        tax_rate_bp=data.default_tax_rate.rate().rate_bp if data.default_tax_rate else None,
        tax_inclusive=data.default_tax_rate.inclusive if data.default_tax_rate else None,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(event)
    tiers = [
        new_tier(event, item, position=index, now=now, field=field, price_field=price_field)
        for index, (field, price_field, item) in enumerate(tier_inputs)
    ]
    for (field, _, _), tier in zip(tier_inputs, tiers, strict=True):
        await check_tier_plans(uow, event, tier, field)
    uow.session.add_all(tiers)
    await uow.flush()
    await activity_service.record(
        uow,
        "events.event_created",
        resource_type="event",
        resource_uuid=event.id,
        metadata={
            "status": event.status,
            "currency": event.currency,
            "count": len(tiers),
            "capacity": sum(t.capacity for t in tiers),
        },
    )
    return EventDetail(event, tiers)


def _initial_tiers(data: EventCreate) -> list[tuple[str, str, TierCreate]]:
    """The tiers to create, each with the body fields its errors are reported on."""
    seed_form = data.ticket_price is not None or data.total_tickets is not None
    if seed_form and data.tiers:
        raise ConflictingTierInput(field="event.tiers")
    if data.tiers:
        return [
            (f"event.tiers.{i}", f"event.tiers.{i}.price", tier)
            for i, tier in enumerate(data.tiers)
        ]
    if data.ticket_price is None:
        raise NoTiers(field="event.ticket_price")
    if data.total_tickets is None:
        raise NoTiers(field="event.total_tickets")
    seed_tier = TierCreate(
        name=GENERAL_ADMISSION, price=data.ticket_price, capacity=data.total_tickets
    )
    return [("event", "event.ticket_price", seed_tier)]


async def get_event(uow: UnitOfWork, viewer: Actor, event_id: uuid.UUID) -> EventDetail:
    event = await repository.visible_event(uow, viewer, event_id)
    return EventDetail(event, await repository.tiers_of(uow, event.id))


async def managed_event_organizer(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> uuid.UUID:
    """The organizer of a live event the actor manages (its organizer, or staff), for other
    domains' per-event views (its orders, its books). Anyone else: 404, decided by the query."""
    event = await repository.editable_event(uow, actor, event_id)
    return event.organizer_id


async def list_events(
    uow: UnitOfWork,
    viewer: Actor,
    *,
    status: EventStatus | None = None,
    mine: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[EventDetail]:
    """Published events for everyone by default. ``mine`` lists the viewer's own events in any
    status; drafts of others are listed to staff only."""
    stmt = repository.live_events()
    if mine:
        stmt = stmt.where(Event.organizer_id == viewer.uuid)
        if status is not None:
            stmt = stmt.where(Event.status == status.value)
    elif status is None:
        stmt = stmt.where(Event.status == EventStatus.PUBLISHED.value)
    else:
        stmt = stmt.where(Event.status == status.value)
        if status == EventStatus.DRAFT and not viewer.is_staff:
            stmt = stmt.where(Event.organizer_id == viewer.uuid)
    page = await paginate(
        uow.session,
        stmt,
        created_at=Event.created_at,
        row_id=Event.id,
        limit=limit,
        cursor=cursor,
    )
    events: list[Event] = page.items
    tiers = await repository.tiers_by_event(uow, [e.id for e in events])
    return Page([EventDetail(e, tiers[e.id]) for e in events], page.next_cursor)


async def update_event(
    uow: UnitOfWork, actor: Actor, event_id: uuid.UUID, changes: EventUpdate
) -> EventDetail:
    event = await repository.open_event(uow, actor, event_id)
    tiers = await repository.tiers_of(uow, event.id)
    sent = changes.model_fields_set
    now = uow.clock.now()
    if changes.currency is not None and event.currency != (
        code := validation.currency(changes.currency)
    ):
        _change_currency(event, tiers, code)
        # The plans a tier requires must stay in the event's currency.
        for index, tier in enumerate(tiers):
            await check_tier_plans(uow, event, tier, f"event.tiers.{index}")
    for name in ("name", "venue", "description"):
        if name in sent:
            setattr(event, name, getattr(changes, name))
    if changes.timezone is not None:
        event.timezone = validation.timezone(changes.timezone)
    starts_at = changes.date or event.starts_at
    ends_at = changes.ends_at if "ends_at" in sent else event.ends_at
    validation.schedule(starts_at, ends_at, now, check_start=changes.date is not None)
    event.starts_at, event.ends_at = starts_at, ends_at
    _set_refund_policy(event, changes)
    if "default_tax_rate" in sent:
        rate = changes.default_tax_rate
        event.tax_rate = rate.rate() if rate else None
    if "max_attendees" in sent:
        await _set_max_attendees(uow, event, changes.max_attendees)
    first = tiers[0] if tiers else None
    if first is not None and changes.ticket_price is not None:
        first.price = validation.price(changes.ticket_price, event.currency, "event.ticket_price")
        first.updated_at = now
    if first is not None and changes.total_tickets is not None:
        await set_tier_capacity(uow, first, changes.total_tickets, field="event.total_tickets")
    event.updated_at = now
    await uow.flush()
    await activity_service.record(
        uow,
        "events.event_updated",
        resource_type="event",
        resource_uuid=event.id,
        metadata={"status": event.status, "currency": event.currency},
    )
    tiers = await repository.tiers_of(uow, event.id)
    await publish_availability(uow, event.id)
    return EventDetail(event, tiers)


def _set_refund_policy(event: Event, changes: EventUpdate) -> None:
    """Checked on every update, so that moving the start before the deadline is refused too.
    A policy that needs no deadline drops the stored one."""
    policy = changes.refund_policy or RefundPolicy(event.refund_policy)
    deadline = (
        changes.refund_deadline
        if "refund_deadline" in changes.model_fields_set
        else event.refund_deadline
        if policy == RefundPolicy.UNTIL_DEADLINE
        else None
    )
    event.refund_deadline = validation.refund_deadline(policy, deadline, event.starts_at)
    event.refund_policy = policy.value


def _change_currency(event: Event, tiers: list[Tier], code: str) -> None:
    if code == event.currency:
        return
    if event.status != EventStatus.DRAFT or event.taken > 0 or any(t.taken for t in tiers):
        raise CurrencyLocked(field="event.currency")
    old, new = exponent(event.currency), exponent(code)
    for index, tier in enumerate(tiers):
        tier.price = validation.rescale(tier.price, old, new, f"event.tiers.{index}.price")
    event.currency = code


async def _set_max_attendees(uow: UnitOfWork, event: Event, value: int | None) -> None:
    """Atomic against concurrent purchases: the cap is only lowered where ``taken`` still fits."""
    await uow.flush()
    stmt = update(Event).where(Event.id == event.id).values(max_attendees=value)
    if value is not None:
        stmt = stmt.where(Event.taken <= value)
    done = await uow.session.scalar(
        stmt.returning(Event.id).execution_options(synchronize_session=False)
    )
    if done is None:
        await uow.session.refresh(event, ["taken"])
        raise CapacityBelowTaken(
            field="event.max_attendees", details={"taken": event.taken, "requested": value}
        )
    await uow.session.refresh(event, ["taken", "max_attendees"])


async def publish_event(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> EventDetail:
    event = await repository.editable_event(uow, actor, event_id)
    tiers = await repository.tiers_of(uow, event.id)
    if event.status == EventStatus.PUBLISHED:
        return EventDetail(event, tiers)  # a retried publish is not an error
    if event.status != EventStatus.DRAFT:
        raise EventNotDraft(details={"status": event.status})
    if not tiers:
        raise EventHasNoTiers()
    now = uow.clock.now()
    validation.schedule(event.starts_at, event.ends_at, now, check_start=True)
    event.status = EventStatus.PUBLISHED.value
    event.published_at = now
    event.updated_at = now
    await uow.flush()
    await activity_service.record(
        uow,
        "events.event_published",
        resource_type="event",
        resource_uuid=event.id,
        metadata={"old_status": EventStatus.DRAFT.value, "new_status": event.status},
    )
    await publish_availability(uow, event.id)
    return EventDetail(event, tiers)


async def get_availability(uow: UnitOfWork, viewer: Actor, event_id: uuid.UUID) -> Availability:
    detail = await get_event(uow, viewer, event_id)
    return availability(detail.snapshot(), uow.clock.now())


async def complete_past_events(uow: UnitOfWork) -> int:
    """Mark published events that are over as completed; the daily cron runs it. An event is
    over when it has ended, or, without an end, when it has started."""
    now = uow.clock.now()
    done = await uow.session.scalars(
        update(Event)
        .where(
            Event.status == EventStatus.PUBLISHED.value,
            Event.deleted_at.is_(None),
            func.coalesce(Event.ends_at, Event.starts_at) <= now,
        )
        .values(status=EventStatus.COMPLETED.value, updated_at=now)
        .returning(Event.id)
        .execution_options(synchronize_session=False)
    )
    completed = list(done)
    for event_id in completed:
        await activity_service.record(
            uow,
            "events.event_completed",
            resource_type="event",
            resource_uuid=event_id,
            metadata={
                "old_status": EventStatus.PUBLISHED.value,
                "new_status": EventStatus.COMPLETED.value,
            },
            mode="auto",
        )
    return len(completed)
