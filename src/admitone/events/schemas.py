"""Request and response bodies. The ``{"event": {...}}`` envelope is the contract; money
travels as decimal strings ("50.00")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from admitone.core.bodies import StrictBody
from admitone.core.money import Money
from admitone.core.tax_schemas import TaxRateIn, TaxRateOut
from admitone.core.text import NO_NUL, SINGLE_LINE
from admitone.events.models import Event, EventStatus, RefundPolicy, Tier
from admitone.events.snapshots import (
    Availability,
    EventSnapshot,
    TierSnapshot,
    availability,
    event_snapshot,
)

MAX_CAPACITY = 10_000_000
MAX_TIERS = 50
MAX_REQUIRED_PLANS = 20
RequiredPlans = Annotated[
    list[uuid.UUID],
    Field(
        max_length=MAX_REQUIRED_PLANS,
        description=(
            "Membership plans of the event's organizer, in its currency: only a member of one "
            "of them may buy this tier (403 membership_required). Empty: anyone may."
        ),
    ),
]

# Stored and answered in UTC, whatever offset the client wrote; a naive time is refused.
Moment = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    SINGLE_LINE,
]
TierName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    SINGLE_LINE,
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), NO_NUL]
Timezone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    SINGLE_LINE,
]
Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=3),
    SINGLE_LINE,
]
# A decimal string in the event's currency; an integer is taken as whole units. Floats are
# refused by the service's parser when they would lose precision.
Price = (
    Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
        SINGLE_LINE,
    ]
    | int
)
Capacity = Annotated[int, Field(ge=0, le=MAX_CAPACITY)]
PositiveCapacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY)]
MaxPerOrder = Annotated[int, Field(ge=1, le=1000)]
Position = Annotated[int, Field(ge=0, le=10_000)]


REFUND_POLICY_DESCRIPTION = (
    "Until when a buyer may cancel a paid order for a full refund: until the event starts "
    "(the default), until refund_deadline, or never (none). Organizers and staff can always "
    "cancel and refund, giving a reason."
)
REFUND_DEADLINE_DESCRIPTION = (
    "With refund_policy until_deadline only: when buyers' refunds close, before the start."
)


TIER_TAX_DESCRIPTION = "The tier's tax rate; null: the event's default_tax_rate applies."
EVENT_TAX_DESCRIPTION = (
    "The tax rate of tiers and shop products that have none of their own; null: no tax."
)


def _refuse_null(value: object) -> object:
    # Only runs on values that were sent: an omitted field keeps its stored value, an explicit
    # null on a required column is an error rather than a silent no-op.
    if value is None:
        raise ValueError("may not be null")
    return value


class TierCreate(StrictBody):
    name: TierName
    price: Price
    capacity: Capacity
    sales_start: Moment | None = None
    sales_end: Moment | None = None
    max_per_order: MaxPerOrder | None = None
    position: Position | None = None
    required_plan_ids: RequiredPlans = []
    tax_rate: TaxRateIn | None = Field(default=None, description=TIER_TAX_DESCRIPTION)


# An update's field that may be omitted but not sent as null: the document declares it
# non-nullable (the null branch is only how "omitted" reaches ``_refuse_null``).
Omitted = SkipJsonSchema[None]


class TierUpdate(StrictBody):
    name: TierName | Omitted = None
    price: Price | Omitted = None
    capacity: Capacity | Omitted = None
    sales_start: Moment | None = None
    sales_end: Moment | None = None
    max_per_order: MaxPerOrder | None = None
    position: Position | Omitted = None
    required_plan_ids: RequiredPlans | Omitted = None
    tax_rate: TaxRateIn | None = Field(default=None, description=TIER_TAX_DESCRIPTION)

    _not_null = field_validator("name", "price", "capacity", "position", "required_plan_ids")(
        _refuse_null
    )


class EventCreate(StrictBody):
    name: Name
    venue: Name
    date: Moment
    description: Description = ""
    ends_at: Moment | None = None
    timezone: Timezone = "UTC"
    currency: Currency = "USD"
    max_attendees: PositiveCapacity | None = None
    ticket_price: Price | None = None
    total_tickets: PositiveCapacity | None = None
    tiers: Annotated[list[TierCreate], Field(max_length=MAX_TIERS)] | None = None
    refund_policy: RefundPolicy = Field(
        default=RefundPolicy.UNTIL_START, description=REFUND_POLICY_DESCRIPTION
    )
    refund_deadline: Moment | None = Field(default=None, description=REFUND_DEADLINE_DESCRIPTION)
    default_tax_rate: TaxRateIn | None = Field(default=None, description=EVENT_TAX_DESCRIPTION)


class EventUpdate(StrictBody):
    name: Name | Omitted = None
    venue: Name | Omitted = None
    date: Moment | Omitted = None
    description: Description | Omitted = None
    ends_at: Moment | None = None
    timezone: Timezone | Omitted = None
    currency: Currency | Omitted = None
    max_attendees: PositiveCapacity | None = None
    ticket_price: Price | Omitted = None
    total_tickets: PositiveCapacity | Omitted = None
    refund_policy: RefundPolicy | Omitted = Field(
        default=None, description=REFUND_POLICY_DESCRIPTION
    )
    refund_deadline: Moment | None = Field(default=None, description=REFUND_DEADLINE_DESCRIPTION)
    default_tax_rate: TaxRateIn | None = Field(default=None, description=EVENT_TAX_DESCRIPTION)

    _not_null = field_validator(
        "name",
        "venue",
        "date",
        "description",
        "timezone",
        "currency",
        "ticket_price",
        "total_tickets",
        "refund_policy",
    )(_refuse_null)


class EventCreateRequest(StrictBody):
    event: EventCreate


class EventUpdateRequest(StrictBody):
    event: EventUpdate


class TierCreateRequest(StrictBody):
    tier: TierCreate


class TierUpdateRequest(StrictBody):
    tier: TierUpdate


class TierOut(BaseModel):
    id: uuid.UUID
    name: str
    price: str
    currency: str
    capacity: int
    taken: int
    remaining: int
    sold_out: bool
    on_sale: bool
    sales_start: datetime | None
    sales_end: datetime | None
    max_per_order: int | None
    position: int
    required_plan_ids: list[uuid.UUID]
    tax_rate: TaxRateOut | None = Field(description=TIER_TAX_DESCRIPTION)

    @classmethod
    def build(cls, event: EventSnapshot, tier: TierSnapshot, now: datetime) -> TierOut:
        remaining = event.tier_remaining(tier)
        return cls(
            id=tier.id,
            name=tier.name,
            price=Money(tier.price, tier.currency).to_decimal_string(),
            currency=tier.currency,
            capacity=tier.capacity,
            taken=tier.taken,
            remaining=remaining,
            sold_out=remaining == 0,
            on_sale=event.is_on_sale(now) and tier.sales_open(now),
            sales_start=tier.sales_start,
            sales_end=tier.sales_end,
            max_per_order=tier.max_per_order,
            position=tier.position,
            required_plan_ids=list(tier.required_plan_ids),
            tax_rate=TaxRateOut.of(tier.tax),
        )


class EventOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    name: str
    description: str
    venue: str
    date: datetime = Field(description="When the event starts (the contract's name for starts_at).")
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    currency: str
    status: EventStatus
    max_attendees: int | None
    ticket_price: str | None = Field(description="The price of the first tier.")
    total_tickets: int = Field(description="Sellable seats: the tiers' capacity, within the cap.")
    available_tickets: int = Field(description="Tickets still for sale, event-wide.")
    sold_out: bool
    on_sale: bool
    tiers: list[TierOut]
    refund_policy: RefundPolicy = Field(description=REFUND_POLICY_DESCRIPTION)
    refund_deadline: datetime | None = Field(description=REFUND_DEADLINE_DESCRIPTION)
    refunds_until: datetime | None = Field(
        description="When buyers' cancellations for a refund close (null: no refunds)."
    )
    default_tax_rate: TaxRateOut | None = Field(description=EVENT_TAX_DESCRIPTION)
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, event: Event, tiers: list[Tier], now: datetime) -> EventOut:
        from_capacity = event_snapshot(event, tiers)
        seats = sum(t.capacity for t in from_capacity.tiers)
        if event.max_attendees is not None:
            seats = min(seats, event.max_attendees)
        view = availability(from_capacity, now)
        first = from_capacity.tiers[0] if from_capacity.tiers else None
        return cls(
            id=event.id,
            organizer_id=event.organizer_id,
            name=event.name,
            description=event.description,
            venue=event.venue,
            date=event.starts_at,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            currency=event.currency,
            status=EventStatus(event.status),
            max_attendees=event.max_attendees,
            ticket_price=(
                Money(first.price, first.currency).to_decimal_string() if first else None
            ),
            total_tickets=seats,
            available_tickets=view.remaining,
            sold_out=view.sold_out,
            on_sale=view.on_sale,
            tiers=[TierOut.build(from_capacity, t, now) for t in from_capacity.tiers],
            refund_policy=from_capacity.refund_policy,
            refund_deadline=from_capacity.refund_deadline,
            refunds_until=from_capacity.refunds_until,
            default_tax_rate=TaxRateOut.of(from_capacity.default_tax),
            published_at=event.published_at,
            created_at=event.created_at,
            updated_at=event.updated_at,
        )


class EventPage(BaseModel):
    data: list[EventOut]
    next_cursor: str | None


class TierList(BaseModel):
    data: list[TierOut]


class TierAvailabilityOut(BaseModel):
    id: uuid.UUID
    name: str
    remaining: int
    sold_out: bool
    on_sale: bool


class AvailabilityOut(BaseModel):
    event_id: uuid.UUID
    status: EventStatus
    remaining: int
    sold_out: bool
    on_sale: bool
    tiers: list[TierAvailabilityOut]

    @classmethod
    def build(cls, view: Availability) -> AvailabilityOut:
        data: dict[str, Any] = view.as_message()
        return cls.model_validate(data)


class HasExistingOrdersOut(BaseModel):
    has_existing_orders: bool
