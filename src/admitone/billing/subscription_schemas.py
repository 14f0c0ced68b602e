"""Request and response bodies of subscriptions (``{"subscription": {...}}``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from admitone.billing.models import Subscription, SubscriptionStatus
from admitone.core.bodies import StrictBody
from admitone.core.money import Money

PaymentMethod = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$"
    ),
]


class SubscriptionCreate(StrictBody):
    plan_id: uuid.UUID
    payment_method: PaymentMethod | None = Field(
        default=None,
        description="A payment method reference (a test card such as pm_card_visa with the "
        "fake gateway): the first period and the renewals are charged to it.",
    )


class SubscriptionCreateBody(StrictBody):
    subscription: SubscriptionCreate


class CancelBody(StrictBody):
    at_period_end: StrictBool = Field(
        default=True,
        description="True (the default): a member until the paid period ends, never charged "
        "again. False: ended now.",
    )
    refund: StrictBool = Field(
        default=False,
        description="The plan's organizer and staff: with at_period_end false, refund the "
        "current period's charge in full.",
    )


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID | None
    plan_id: uuid.UUID
    organizer_id: uuid.UUID
    status: SubscriptionStatus
    price: str
    currency: str
    interval: str
    gateway: str
    period_number: int
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    past_due_since: datetime | None
    grace_until: datetime | None
    reminders_sent: int = Field(
        description="The payment reminders emailed since the subscription last fell past due; "
        "0 once it is paid again."
    )
    created_at: datetime
    client_secret: str | None = Field(
        default=None,
        description="Only when subscribing at a provider whose first payment the buyer must "
        "confirm in the browser.",
    )

    @classmethod
    def of(cls, s: Subscription, client_secret: str | None = None) -> SubscriptionOut:
        return cls(
            id=s.id,
            user_id=s.user_id,
            plan_id=s.plan_id,
            organizer_id=s.organizer_id,
            status=SubscriptionStatus(s.status),
            price=Money(s.price, s.currency).to_decimal_string(),
            currency=s.currency,
            interval=s.interval,
            gateway=s.gateway,
            period_number=s.period_number,
            current_period_start=s.current_period_start,
            current_period_end=s.current_period_end,
            trial_end=s.trial_end,
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=s.canceled_at,
            ended_at=s.ended_at,
            past_due_since=s.past_due_since,
            grace_until=s.grace_until,
            reminders_sent=s.reminders_sent,
            created_at=s.created_at,
            client_secret=client_secret,
        )


class SubscriptionPage(BaseModel):
    data: list[SubscriptionOut]
    next_cursor: str | None
