"""Immutable views of an event and its tiers, and the availability derived from them. Pure
data: the capacity API hands these to other domains instead of ORM rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from admitone.core.tax import TaxRate
from admitone.events.models import Event, EventStatus, RefundPolicy, Tier


@dataclass(frozen=True)
class TierSnapshot:
    id: uuid.UUID
    event_id: uuid.UUID
    name: str
    price: int
    currency: str
    capacity: int
    taken: int
    max_per_order: int | None
    sales_start: datetime | None
    sales_end: datetime | None
    position: int
    # The plans whose members alone may buy it; empty: anyone may.
    required_plan_ids: tuple[uuid.UUID, ...] = ()

    tax: TaxRate | None = None  # its own rate; ``EventSnapshot.tax_of`` falls back to the event's

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)

    def sales_open(self, now: datetime) -> bool:
        started = self.sales_start is None or self.sales_start <= now
        return started and (self.sales_end is None or now < self.sales_end)


@dataclass(frozen=True)
class EventSnapshot:
    id: uuid.UUID
    organizer_id: uuid.UUID
    name: str
    venue: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    currency: str
    status: str
    max_attendees: int | None
    taken: int
    tiers: tuple[TierSnapshot, ...]
    refund_policy: RefundPolicy = RefundPolicy.UNTIL_START
    refund_deadline: datetime | None = None
    # The tiers that require a membership, worked out once per read: a purchase of an event
    # that has none pays one truth test for the membership check.
    members_only: tuple[uuid.UUID, ...] = ()

    default_tax: TaxRate | None = None  # for tiers and products without a rate of their own

    def tax_of(self, tier: TierSnapshot) -> TaxRate | None:
        return tier.tax if tier.tax is not None else self.default_tax

    @property
    def refunds_until(self) -> datetime | None:
        """When buyers' cancellations for a refund close; None when the event gives none."""
        return refunds_until(self.refund_policy, self.refund_deadline, self.starts_at)

    @property
    def remaining(self) -> int:
        """What can still be sold across all tiers, within the event-wide cap."""
        in_tiers = sum(tier.remaining for tier in self.tiers)
        if self.max_attendees is None:
            return in_tiers
        return min(max(self.max_attendees - self.taken, 0), in_tiers)

    def tier_remaining(self, tier: TierSnapshot) -> int:
        """What a buyer can get of one tier: its own room, bounded by the event cap."""
        if self.max_attendees is None:
            return tier.remaining
        return min(tier.remaining, max(self.max_attendees - self.taken, 0))

    def is_on_sale(self, now: datetime) -> bool:
        return self.status == EventStatus.PUBLISHED and self.starts_at > now

    def tier(self, tier_id: uuid.UUID) -> TierSnapshot | None:
        return next((t for t in self.tiers if t.id == tier_id), None)


@dataclass(frozen=True)
class TierAvailability:
    id: uuid.UUID
    name: str
    remaining: int
    sold_out: bool
    on_sale: bool


@dataclass(frozen=True)
class Availability:
    event_id: uuid.UUID
    status: str
    remaining: int
    sold_out: bool
    on_sale: bool
    tiers: tuple[TierAvailability, ...]

    def as_message(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "status": self.status,
            "remaining": self.remaining,
            "sold_out": self.sold_out,
            "on_sale": self.on_sale,
            "tiers": [
                {
                    "id": str(t.id),
                    "name": t.name,
                    "remaining": t.remaining,
                    "sold_out": t.sold_out,
                    "on_sale": t.on_sale,
                }
                for t in self.tiers
            ],
        }


def availability(event: EventSnapshot, now: datetime) -> Availability:
    event_on_sale = event.is_on_sale(now)
    tiers = tuple(
        TierAvailability(
            id=tier.id,
            name=tier.name,
            remaining=event.tier_remaining(tier),
            sold_out=event.tier_remaining(tier) == 0,
            on_sale=event_on_sale and tier.sales_open(now),
        )
        for tier in event.tiers
    )
    remaining = event.remaining
    return Availability(
        event_id=event.id,
        status=event.status,
        remaining=remaining,
        sold_out=remaining == 0,
        on_sale=event_on_sale and any(t.on_sale for t in tiers),
        tiers=tiers,
    )


def tier_snapshot(tier: Tier, currency: str) -> TierSnapshot:
    return TierSnapshot(
        id=tier.id,
        event_id=tier.event_id,
        name=tier.name,
        price=tier.price,
        currency=currency,
        capacity=tier.capacity,
        taken=tier.taken,
        max_per_order=tier.max_per_order,
        sales_start=tier.sales_start,
        sales_end=tier.sales_end,
        position=tier.position,
        required_plan_ids=tuple(uuid.UUID(plan_id) for plan_id in tier.required_plan_ids or ()),
        tax=tier.tax_rate,
    )


def event_snapshot(event: Event, tiers: list[Tier]) -> EventSnapshot:
    ordered = sorted(tiers, key=lambda t: (t.position, t.created_at, t.id))
    snapshots = tuple(tier_snapshot(t, event.currency) for t in ordered)
    return EventSnapshot(
        id=event.id,
        organizer_id=event.organizer_id,
        name=event.name,
        venue=event.venue,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        currency=event.currency,
        status=event.status,
        max_attendees=event.max_attendees,
        taken=event.taken,
        tiers=snapshots,
        # An event not flushed yet has no default applied.
        refund_policy=RefundPolicy(event.refund_policy or RefundPolicy.UNTIL_START),
        refund_deadline=event.refund_deadline,
        members_only=tuple(t.id for t in snapshots if t.required_plan_ids),
        default_tax=event.tax_rate,
    )


def refunds_until(
    policy: RefundPolicy, deadline: datetime | None, starts_at: datetime
) -> datetime | None:
    if policy == RefundPolicy.NONE:
        return None
    if policy == RefundPolicy.UNTIL_DEADLINE and deadline is not None:
        return min(deadline, starts_at)
    return starts_at
