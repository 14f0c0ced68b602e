"""Categories, products, stock counters and their adjustments, carts and cart lines.

Stock lives in ``shop_stock`` counters, one per product (``options_key`` empty) or per option
combination: they are the only source of what is left, moved by one conditional statement each,
and every move leaves an append-only ``shop_stock_adjustments`` row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey
from admitone.core.tax_columns import TaxRateColumns, tax_rate_check


class StockTracking(StrEnum):
    UNLIMITED = "unlimited"
    PRODUCT = "product"  # one counter for the product, whatever options are chosen
    OPTIONS = "options"  # one counter per combination of option values


class StockReason(StrEnum):
    SALE = "sale"
    RELEASE = "release"
    RESTOCK = "restock"
    CORRECTION = "correction"
    REFUND = "refund"


class CartStatus(StrEnum):
    OPEN = "open"
    CHECKED_OUT = "checked_out"


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Category(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "shop_categories"

    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shop_categories.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("uq_shop_categories_organizer_slug", "organizer_id", "slug", unique=True),
        Index("ix_shop_categories_parent", "parent_id"),
    )


class Product(TaxRateColumns, UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "shop_products"

    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # Event merchandise, parking, add-ons: an event of the same organizer.
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shop_categories.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Minor units of ``currency``; order lines copy it, so a change never touches a sale.
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # [{"name": "size", "values": [{"value": "XL", "price_modifier": 200}, ...]}, ...]
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stock_tracking: Mapped[str] = mapped_column(String(10))
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        tax_rate_check(),
        CheckConstraint(_one_of("stock_tracking", StockTracking), name="stock_tracking_known"),
        Index("ix_shop_products_organizer_created", "organizer_id", "created_at", "id"),
        Index("ix_shop_products_event", "event_id"),
        Index("ix_shop_products_category", "category_id"),
    )


class StockCounter(Base):
    __tablename__ = "shop_stock"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shop_products.id", ondelete="CASCADE"), primary_key=True
    )
    # Empty for a product-wide counter; else the hash of the normalised option values.
    options_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)


class StockAdjustment(UUIDPrimaryKey, Base):
    """One move of one counter. Rows are only ever inserted."""

    __tablename__ = "shop_stock_adjustments"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shop_products.id", ondelete="CASCADE")
    )
    options_key: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    change: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(20))
    # The order a sale, release or refund was for (no foreign key: orders come and go with
    # their own retention, the stock history stays).
    order_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("change <> 0", name="change_not_zero"),
        CheckConstraint(_one_of("reason", StockReason), name="reason_known"),
        Index("ix_shop_stock_adjustments_product", "product_id", "created_at"),
    )


class Cart(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "shop_carts"

    # A signed-in user's cart goes with the account; a guest's is opened by its token.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=CartStatus.OPEN.value)
    # Set by the first line and cleared with the last: one order has one seller and currency.
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    currency: Mapped[str | None] = mapped_column(String(3))

    __table_args__ = (
        CheckConstraint(_one_of("status", CartStatus), name="status_known"),
        CheckConstraint("(user_id IS NULL) <> (token_hash IS NULL)", name="user_or_token"),
        Index("uq_shop_carts_token_hash", "token_hash", unique=True),
        Index("ix_shop_carts_user", "user_id", "created_at"),
    )


class CartItem(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "shop_cart_items"

    cart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shop_carts.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shop_products.id", ondelete="CASCADE")
    )
    # A deleted tier takes its cart lines with it.
    tier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tiers.id", ondelete="CASCADE"))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options_key: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("(product_id IS NULL) <> (tier_id IS NULL)", name="product_or_tier"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # A line per product and normalised options, per tier: NULLs are distinct in a unique
        # index, so each kind of line has its own partial index (both backends support them).
        Index(
            "uq_shop_cart_items_product",
            "cart_id",
            "product_id",
            "options_key",
            unique=True,
            sqlite_where=text("product_id IS NOT NULL"),
            postgresql_where=text("product_id IS NOT NULL"),
        ),
        Index(
            "uq_shop_cart_items_tier",
            "cart_id",
            "tier_id",
            unique=True,
            sqlite_where=text("tier_id IS NOT NULL"),
            postgresql_where=text("tier_id IS NOT NULL"),
        ),
        Index("ix_shop_cart_items_product", "product_id"),
        Index("ix_shop_cart_items_tier", "tier_id"),
    )
