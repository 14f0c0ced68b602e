"""Request and response bodies of posts and coupons. Money travels as decimal strings ("5.00")
in the coupon's currency, percentages as decimal strings too ("12.5")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from admitone.core.bodies import StrictBody
from admitone.core.text import NO_NUL, SINGLE_LINE
from admitone.posts.models import CouponScope, DiscountKind, PostStatus

MAX_TARGETS = 100
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]
PostBody = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000), NO_NUL]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=50, pattern=CODE_PATTERN),
]
# Decimal strings, parsed exactly by the service; an integer is taken as whole units.
Decimalish = (
    Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), SINGLE_LINE
    ]
    | int
)
Currency = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3), SINGLE_LINE
]
Limit = Annotated[int, Field(ge=1, le=10_000_000)]
Targets = Annotated[list[uuid.UUID], Field(max_length=MAX_TARGETS)]
# Omitted in an update keeps the stored value; the document declares it non-nullable.
Omitted = SkipJsonSchema[None]


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null")
    return value


class PostCreate(StrictBody):
    title: Title
    body: PostBody = ""
    status: PostStatus = PostStatus.DRAFT


class EventPostCreate(StrictBody):
    title: Title | None = Field(default=None, description="The event's name when omitted.")
    body: PostBody | None = Field(
        default=None, description="The event's venue and start when omitted."
    )
    status: PostStatus = PostStatus.DRAFT


class PostUpdate(StrictBody):
    title: Title | Omitted = None
    body: PostBody | Omitted = None
    status: PostStatus | Omitted = None

    _not_null = field_validator("title", "body", "status")(_refuse_null)


class PostOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    title: str
    body: str
    status: PostStatus
    created_from_event_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PostPage(BaseModel):
    data: list[PostOut]
    next_cursor: str | None


class CouponCreate(StrictBody):
    code: Code = Field(description="Unique among your coupons, whatever the case.")
    kind: DiscountKind
    percent_off: Decimalish | None = Field(
        default=None, description='With kind percent: more than 0 and at most 100 ("12.5").'
    )
    amount_off: Decimalish | None = Field(
        default=None, description="With kind fixed: more than zero, in ``currency``."
    )
    currency: Currency | None = Field(default=None, description="With kind fixed.")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    usage_limit: Limit | None = Field(default=None, description="Orders in all; none: unlimited.")
    per_buyer_limit: Limit | None = Field(default=None, description="Orders per buyer.")
    scope: CouponScope = CouponScope.ORDER
    tier_ids: Targets = Field(default_factory=list, description="With scope tiers.")
    product_ids: Targets = Field(default_factory=list, description="With scope products.")
    post_id: uuid.UUID | None = Field(default=None, description="One of your posts.")


class CouponUpdate(StrictBody):
    """Only the window and the limits change: a coupon already used keeps its discount."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    usage_limit: Limit | None = None
    per_buyer_limit: Limit | None = None


class CouponOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    code: str
    kind: DiscountKind
    percent_off: str | None
    amount_off: str | None
    currency: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    uses: int = Field(description="Live orders holding the coupon.")
    per_buyer_limit: int | None
    scope: CouponScope
    tier_ids: list[uuid.UUID]
    product_ids: list[uuid.UUID]
    post_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CouponPage(BaseModel):
    data: list[CouponOut]
    next_cursor: str | None
