"""Request and response bodies of membership plans."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from admitone.billing.models import Plan, PlanInterval
from admitone.core.bodies import StrictBody
from admitone.core.money import Money
from admitone.core.text import NO_NUL

# Text as sent, with no blank around it: the length limit then holds for what is stored, and
# the document states exactly what is taken.
_BLANK = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ONE_LINE = rf"^[^{_BLANK}](?:[^\x00-\x1f\x7f]*[^{_BLANK}])?$"
PlanName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_ONE_LINE)]
PlanDescription = Annotated[str, StringConstraints(max_length=2000), NO_NUL]
# A decimal string in the plan's currency ("9.00"), as every amount the API speaks.
PlanPrice = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,6})?$")]
PlanCurrency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]


def _not_a_boolean(value: object) -> object:
    # JSON's true and false are not numbers of days (pydantic would take them as 1 and 0).
    if isinstance(value, bool):
        raise ValueError("must be a whole number of days")
    return value


TrialDays = Annotated[
    int,
    Field(ge=0, le=730, description="Free days before the first charge."),
    BeforeValidator(_not_a_boolean),
]
Omitted = SkipJsonSchema[None]


def _refuse_null(value: object) -> object:
    # Runs only on values that were sent: null is refused rather than taken as "unchanged".
    if value is None:
        raise ValueError("may not be null; leave the field out instead")
    return value


class PlanCreate(StrictBody):
    name: PlanName
    description: PlanDescription | None = None
    price: PlanPrice = Field(description="Per interval, a decimal string such as 9.00.")
    currency: PlanCurrency = Field(description="ISO 4217, e.g. EUR.")
    interval: PlanInterval
    trial_days: TrialDays = 0


class PlanUpdate(StrictBody):
    """``price``, ``currency`` and ``interval`` change only while nobody ever subscribed
    (409 ``plan_terms_locked`` after)."""

    name: PlanName | Omitted = None
    description: PlanDescription | None = None
    price: PlanPrice | Omitted = None
    currency: PlanCurrency | Omitted = None
    interval: PlanInterval | Omitted = None
    trial_days: TrialDays | Omitted = None

    _not_null = field_validator("name", "price", "currency", "interval", "trial_days")(_refuse_null)


class PlanCreateRequest(StrictBody):
    plan: PlanCreate


class PlanUpdateRequest(StrictBody):
    plan: PlanUpdate


class PlanOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    name: str
    description: str | None
    price: str
    currency: str
    interval: PlanInterval
    trial_days: int
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(
            id=plan.id,
            organizer_id=plan.organizer_id,
            name=plan.name,
            description=plan.description,
            price=Money(plan.price, plan.currency).to_decimal_string(),
            currency=plan.currency,
            interval=PlanInterval(plan.interval),
            trial_days=plan.trial_days,
            archived=plan.archived_at is not None,
            archived_at=plan.archived_at,
            created_at=plan.created_at,
            updated_at=plan.updated_at,
        )


class PlanPage(BaseModel):
    data: list[PlanOut]
    next_cursor: str | None
