"""Coupons of an organizer: create, read, list, change the window and limits, remove.

A code is unique per organizer whatever its case: ``code_key`` is the code in lower case, under
a unique index among live coupons on both databases, so two racing requests cannot both win.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotFound
from admitone.core.ids import new_uuid
from admitone.core.money import Money, validate_currency
from admitone.core.pagination import Page, paginate
from admitone.events import service as events_service
from admitone.posts import repository
from admitone.posts.discounts import BASIS_POINTS
from admitone.posts.errors import CouponCodeTaken, InvalidCouponTarget
from admitone.posts.models import Coupon, CouponScope, DiscountKind, Post
from admitone.posts.schemas import CouponCreate, CouponUpdate
from admitone.shop import service as shop_service


def code_key(code: str) -> str:
    return code.strip().lower()


async def create_coupon(uow: UnitOfWork, actor: Actor, data: CouponCreate) -> Coupon:
    if actor.uuid is None:
        raise ValueError("a coupon needs a signed-in organizer")
    now = uow.clock.now()
    coupon = Coupon(
        id=new_uuid(),
        organizer_id=actor.uuid,
        code=data.code,
        code_key=code_key(data.code),
        kind=data.kind.value,
        uses=0,
        usage_limit=data.usage_limit,
        per_buyer_limit=data.per_buyer_limit,
        scope=data.scope.value,
        target_ids=[],
        created_at=now,
        updated_at=now,
    )
    _discount(coupon, data)
    _window(data.starts_at, data.ends_at)
    coupon.starts_at, coupon.ends_at = data.starts_at, data.ends_at
    coupon.target_ids = await _targets(uow, actor, coupon.organizer_id, data)
    if data.post_id is not None:
        post = await uow.session.scalar(
            repository.live_posts().where(
                Post.id == data.post_id, Post.organizer_id == coupon.organizer_id
            )
        )
        if post is None:
            raise InvalidCouponTarget("The post must be one of yours.", field="post_id")
        coupon.post_id = post.id
    await _save(uow, coupon)
    await _record(uow, "posts.coupon_created", coupon)
    return coupon


async def update_coupon(
    uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID, data: CouponUpdate
) -> Coupon:
    """Fields sent are set (null clears a bound or a limit); fields left out are kept."""
    coupon = await repository.managed_coupon(uow, actor, coupon_id)
    sent = data.model_fields_set
    starts_at = data.starts_at if "starts_at" in sent else coupon.starts_at
    ends_at = data.ends_at if "ends_at" in sent else coupon.ends_at
    _window(starts_at, ends_at)
    coupon.starts_at, coupon.ends_at = starts_at, ends_at
    if "usage_limit" in sent:
        coupon.usage_limit = data.usage_limit
    if "per_buyer_limit" in sent:
        coupon.per_buyer_limit = data.per_buyer_limit
    coupon.updated_at = uow.clock.now()
    await uow.flush()
    await _record(uow, "posts.coupon_updated", coupon)
    return coupon


async def delete_coupon(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> None:
    """Removed, not erased: orders that used it keep pointing at it. Its code is free again."""
    coupon = await repository.managed_coupon(uow, actor, coupon_id)
    now = uow.clock.now()
    coupon.deleted_at = now
    coupon.updated_at = now
    await uow.flush()
    await _record(uow, "posts.coupon_deleted", coupon)


async def get_coupon(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> Coupon:
    return await repository.managed_coupon(uow, actor, coupon_id)


async def list_coupons(
    uow: UnitOfWork,
    actor: Actor,
    *,
    post_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Coupon]:
    """The actor's own coupons (staff: everyone's), newest first."""
    stmt = repository.managed_coupons(actor)
    if post_id is not None:
        stmt = stmt.where(Coupon.post_id == post_id)
    return await paginate(
        uow.session,
        stmt,
        created_at=Coupon.created_at,
        row_id=Coupon.id,
        limit=limit,
        cursor=cursor,
    )


def percent_text(coupon: Coupon) -> str | None:
    if coupon.percent_off is None:
        return None
    return str((Decimal(coupon.percent_off) / 100).normalize().quantize(Decimal("0.01")))


def amount_text(coupon: Coupon) -> str | None:
    if coupon.amount_off is None or coupon.currency is None:
        return None
    return Money(coupon.amount_off, coupon.currency).to_decimal_string()


def _discount(coupon: Coupon, data: CouponCreate) -> None:
    if data.kind == DiscountKind.PERCENT:
        if data.amount_off is not None or data.currency is not None:
            raise InvalidInput(
                "A percent coupon has no amount_off or currency.", field="amount_off"
            )
        if data.percent_off is None:
            raise InvalidInput("A percent coupon needs percent_off.", field="percent_off")
        coupon.percent_off = _basis_points(data.percent_off)
        return
    if data.percent_off is not None:
        raise InvalidInput("A fixed coupon has no percent_off.", field="percent_off")
    if data.currency is None:
        raise InvalidInput("A fixed coupon needs its currency.", field="currency")
    if data.amount_off is None:
        raise InvalidInput("A fixed coupon needs amount_off.", field="amount_off")
    currency = validate_currency(data.currency)
    amount = Money.parse(data.amount_off, currency, field="amount_off").amount
    if amount <= 0:
        raise InvalidInput("amount_off must be more than zero.", field="amount_off")
    coupon.amount_off, coupon.currency = amount, currency


def _basis_points(value: str | int) -> int:
    try:
        scaled = Decimal(str(value).strip()) * 100
    except ArithmeticError as exc:  # not a number, or one past what a Decimal holds
        raise InvalidInput(
            "percent_off must be a number such as 12.5.", field="percent_off"
        ) from exc
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise InvalidInput("percent_off has at most two decimal places.", field="percent_off")
    if not 0 < scaled <= BASIS_POINTS:
        raise InvalidInput("percent_off must be more than 0 and at most 100.", field="percent_off")
    return int(scaled)


def _window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at.", field="ends_at")


async def _targets(
    uow: UnitOfWork, actor: Actor, organizer_id: uuid.UUID, data: CouponCreate
) -> list[str]:
    """The tiers or products a scoped coupon applies to, each the organizer's own."""
    scope = data.scope
    if scope == CouponScope.ORDER:
        if data.tier_ids or data.product_ids:
            raise InvalidInput(
                "A coupon for the whole order lists no tiers or products.", field="scope"
            )
        return []
    if scope == CouponScope.TIERS:
        if not data.tier_ids or data.product_ids:
            raise InvalidInput("A tiers coupon lists tier_ids only.", field="tier_ids")
        listings = await events_service.tier_listings(uow, set(data.tier_ids))
        for index, tier_id in enumerate(data.tier_ids):
            listing = listings.get(tier_id)
            if listing is None or listing.organizer_id != organizer_id:
                raise InvalidCouponTarget(
                    "The tier is not one of your events'.", field=f"tier_ids.{index}"
                )
        return sorted({str(t) for t in data.tier_ids})
    if not data.product_ids or data.tier_ids:
        raise InvalidInput("A products coupon lists product_ids only.", field="product_ids")
    for index, product_id in enumerate(data.product_ids):
        try:
            view = await shop_service.get_product(uow, actor, product_id)
        except NotFound:
            view = None
        if view is None or view.product.organizer_id != organizer_id:
            raise InvalidCouponTarget(
                "The product is not one of yours.", field=f"product_ids.{index}"
            )
    return sorted({str(p) for p in data.product_ids})


async def _save(uow: UnitOfWork, coupon: Coupon) -> None:
    """Flush, answering a code the organizer already uses (in any case), even by a racing
    request, with 409."""
    taken = await uow.session.scalar(
        repository.live_coupons()
        .where(Coupon.organizer_id == coupon.organizer_id, Coupon.code_key == coupon.code_key)
        .with_only_columns(Coupon.id)
    )
    if taken is not None:
        raise CouponCodeTaken(field="code")
    uow.session.add(coupon)
    try:
        async with uow.session.begin_nested():
            await uow.flush()
    except IntegrityError as exc:
        raise CouponCodeTaken(field="code") from exc


async def _record(uow: UnitOfWork, action: str, coupon: Coupon) -> None:
    metadata: dict[str, object] = {"kind": coupon.kind}
    if coupon.post_id is not None:
        metadata["post_uuid"] = coupon.post_id
    await activity_service.record(
        uow, action, resource_type="coupon", resource_uuid=coupon.id, metadata=metadata
    )
