"""Posts, coupons and coupon redemptions.

A coupon's ``uses`` counter is the only source of how many live orders hold it: it moves by one
conditional update per redemption (``uses < usage_limit``) and back by one per release, and each
use has a redemption row so a buyer's own uses can be counted under the coupon row's lock.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class PostStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class DiscountKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


class CouponScope(StrEnum):
    ORDER = "order"  # every line of the order
    TIERS = "tiers"  # only lines of the listed ticket tiers
    PRODUCTS = "products"  # only lines of the listed shop products


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Post(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "posts"

    # NULL once the author's account is deleted (``author_deleted``): the post stays.
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    author_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=PostStatus.DRAFT.value)
    created_from_event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id"))
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(_one_of("status", PostStatus), name="status_known"),
        Index("ix_posts_organizer_created", "organizer_id", "created_at", "id"),
        Index("ix_posts_created_from_event", "created_from_event_id"),
    )


class Coupon(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "coupons"

    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # As the organizer typed it; ``code_key`` is what buyers' codes are matched on.
    code: Mapped[str] = mapped_column(String(50))
    code_key: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))
    # Hundredths of a percent (1250 = 12.5 %), so a percentage is an integer like money is.
    percent_off: Mapped[int | None] = mapped_column(Integer)
    amount_off: Mapped[int | None] = mapped_column(BigInteger)  # minor units of ``currency``
    currency: Mapped[str | None] = mapped_column(String(3))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    per_buyer_limit: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(10), default=CouponScope.ORDER.value)
    # Ids (as strings) of the tiers or products a scoped coupon applies to.
    target_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("posts.id"))
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint(_one_of("kind", DiscountKind), name="kind_known"),
        CheckConstraint(_one_of("scope", CouponScope), name="scope_known"),
        CheckConstraint(
            "(kind = 'percent' AND percent_off BETWEEN 1 AND 10000 AND amount_off IS NULL)"
            " OR (kind = 'fixed' AND amount_off > 0 AND currency IS NOT NULL"
            " AND percent_off IS NULL)",
            name="discount_shape",
        ),
        CheckConstraint("usage_limit IS NULL OR usage_limit >= 1", name="usage_limit_positive"),
        CheckConstraint(
            "per_buyer_limit IS NULL OR per_buyer_limit >= 1", name="per_buyer_limit_positive"
        ),
        # Case-insensitive per organizer, among live coupons: a removed code may be used again.
        Index(
            "uq_coupons_organizer_code",
            "organizer_id",
            "code_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_coupons_organizer_created", "organizer_id", "created_at", "id"),
        Index("ix_coupons_post", "post_id"),
    )


class CouponRedemption(UUIDPrimaryKey, Base):
    """One use of a coupon by one order; ``released_at`` is set when the order gives it back."""

    __tablename__ = "coupon_redemptions"

    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"))
    # No foreign key: the order is the purchase pipeline's, one layer up.
    order_id: Mapped[uuid.UUID]
    # A hash of the buyer's key (their account or e-mail address): enough to count a buyer's
    # uses, and no personal data kept here.
    buyer_hash: Mapped[str] = mapped_column(String(64))
    discount_amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
        Index("uq_coupon_redemptions_order", "order_id", unique=True),
        Index("ix_coupon_redemptions_coupon_buyer", "coupon_id", "buyer_hash"),
    )
