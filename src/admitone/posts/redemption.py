"""A coupon at purchase: checked against the lines, redeemed with the order, given back when
the order stops holding what it bought.

``check`` only reads (a refusal leaves nothing behind). ``redeem`` is the write: one
conditional UPDATE of the coupon's counter (``uses < usage_limit``), so racing purchases never
redeem past the limit, and a buyer's own uses are counted while that UPDATE holds the coupon's
row lock, so two purchases of one buyer cannot both slip under the per-buyer limit. It raises on
refusal: the caller's transaction must roll back (the order it was for goes with it).
``release`` gives a use back once, whoever calls it twice: the redemption row's conditional
``released_at`` update decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from admitone.core.db import UnitOfWork
from admitone.core.ids import sha256_hex
from admitone.posts import repository
from admitone.posts.coupons import code_key
from admitone.posts.discounts import Line, eligible, line_discounts
from admitone.posts.errors import (
    CouponBuyerLimitReached,
    CouponCurrencyMismatch,
    CouponExpired,
    CouponInvalid,
    CouponNotYetValid,
    CouponOutOfScope,
    CouponUsedUp,
)
from admitone.posts.models import Coupon, CouponRedemption, DiscountKind


@dataclass(frozen=True, slots=True)
class Applied:
    """A coupon that applies to a purchase, and what it takes off."""

    coupon_id: uuid.UUID
    discount: int  # minor units, at most the lines' total
    line_discounts: tuple[int, ...]  # per line, in the order the lines were given


async def check(
    uow: UnitOfWork,
    code: str,
    *,
    organizer_id: uuid.UUID,
    currency: str,
    lines: Sequence[Line],
    now: datetime,
    field: str = "coupon_code",
) -> Applied:
    """The coupon ``code`` of the seller ``organizer_id`` applied to ``lines`` sold in
    ``currency``, or the refusal (a code of another organizer is as unknown as a made-up one)."""
    coupon = await uow.session.scalar(
        repository.live_coupons().where(
            Coupon.organizer_id == organizer_id, Coupon.code_key == code_key(code)
        )
    )
    if coupon is None:
        raise CouponInvalid(field=field)
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise CouponNotYetValid(field=field)
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise CouponExpired(field=field)
    if DiscountKind(coupon.kind) == DiscountKind.FIXED and coupon.currency != currency:
        raise CouponCurrencyMismatch(
            field=field, details={"coupon_currency": coupon.currency, "currency": currency}
        )
    if coupon.usage_limit is not None and coupon.uses >= coupon.usage_limit:
        raise CouponUsedUp(field=field)  # as last read; ``redeem`` decides for sure
    if not any(eligible(coupon, line) for line in lines):
        raise CouponOutOfScope(field=field)
    shares = line_discounts(coupon, lines)
    return Applied(coupon.id, sum(shares), tuple(shares))


async def redeem(
    uow: UnitOfWork,
    applied: Applied,
    *,
    order_id: uuid.UUID,
    buyer_key: str,
    field: str = "coupon_code",
) -> None:
    """Count one use of the coupon for ``order_id``, or raise ``CouponUsedUp`` /
    ``CouponBuyerLimitReached`` (the caller's transaction then rolls back)."""
    counted = await uow.session.execute(
        update(Coupon)
        .where(
            Coupon.id == applied.coupon_id,
            Coupon.deleted_at.is_(None),
            or_(Coupon.usage_limit.is_(None), Coupon.uses < Coupon.usage_limit),
        )
        .values(uses=Coupon.uses + 1)
        .returning(Coupon.per_buyer_limit)
        .execution_options(synchronize_session=False)
    )
    row = counted.one_or_none()
    if row is None:
        raise CouponUsedUp(field=field)
    buyer_hash = sha256_hex(buyer_key)
    if row.per_buyer_limit is not None:
        # Under the coupon row's lock, taken just above: another purchase of this buyer waits
        # for this transaction and then counts its redemption.
        used = await uow.session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .where(
                CouponRedemption.coupon_id == applied.coupon_id,
                CouponRedemption.buyer_hash == buyer_hash,
                CouponRedemption.released_at.is_(None),
            )
        )
        if (used or 0) >= row.per_buyer_limit:
            raise CouponBuyerLimitReached(field=field)
    uow.session.add(
        CouponRedemption(
            id=uuid.uuid4(),
            coupon_id=applied.coupon_id,
            order_id=order_id,
            buyer_hash=buyer_hash,
            discount_amount=applied.discount,
            created_at=uow.clock.now(),
        )
    )
    await uow.flush()


async def release(uow: UnitOfWork, order_id: uuid.UUID) -> bool:
    """Give back the use ``order_id`` holds, if it still holds one. True if this call did."""
    released = await uow.session.scalar(
        update(CouponRedemption)
        .where(CouponRedemption.order_id == order_id, CouponRedemption.released_at.is_(None))
        .values(released_at=uow.clock.now())
        .returning(CouponRedemption.coupon_id)
        .execution_options(synchronize_session=False)
    )
    if released is None:
        return False
    await uow.session.execute(
        update(Coupon)
        .where(Coupon.id == released)
        .values(uses=Coupon.uses - 1)
        .execution_options(synchronize_session=False)
    )
    return True
