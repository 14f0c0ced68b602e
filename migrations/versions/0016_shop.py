"""shop: categories, products, stock counters and adjustments, carts and their lines

Revision ID: 0016_shop
Revises: 0015_support
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0016_shop"
down_revision: str | None = "0015_support"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_categories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_shop_categories_organizer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["shop_categories.id"],
            name=op.f("fk_shop_categories_parent_id_shop_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_categories")),
    )
    op.create_index(
        "uq_shop_categories_organizer_slug",
        "shop_categories",
        ["organizer_id", "slug"],
        unique=True,
    )
    op.create_index("ix_shop_categories_parent", "shop_categories", ["parent_id"])

    op.create_table(
        "shop_products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("stock_tracking", sa.String(length=10), nullable=False),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("price > 0", name=op.f("ck_shop_products_price_positive")),
        sa.CheckConstraint(
            "stock_tracking IN ('unlimited', 'product', 'options')",
            name=op.f("ck_shop_products_stock_tracking_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_shop_products_organizer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_shop_products_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["shop_categories.id"],
            name=op.f("fk_shop_products_category_id_shop_categories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_products")),
    )
    op.create_index(
        "ix_shop_products_organizer_created",
        "shop_products",
        ["organizer_id", "created_at", "id"],
    )
    op.create_index("ix_shop_products_event", "shop_products", ["event_id"])
    op.create_index("ix_shop_products_category", "shop_products", ["category_id"])

    op.create_table(
        "shop_stock",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("options_key", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_shop_stock_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shop_products.id"],
            name=op.f("fk_shop_stock_product_id_shop_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "options_key", name=op.f("pk_shop_stock")),
    )

    op.create_table(
        "shop_stock_adjustments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("options_key", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("change <> 0", name=op.f("ck_shop_stock_adjustments_change_not_zero")),
        sa.CheckConstraint(
            "reason IN ('sale', 'release', 'restock', 'correction', 'refund')",
            name=op.f("ck_shop_stock_adjustments_reason_known"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shop_products.id"],
            name=op.f("fk_shop_stock_adjustments_product_id_shop_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_shop_stock_adjustments_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_stock_adjustments")),
    )
    op.create_index(
        "ix_shop_stock_adjustments_product",
        "shop_stock_adjustments",
        ["product_id", "created_at"],
    )

    op.create_table(
        "shop_carts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'checked_out')", name=op.f("ck_shop_carts_status_known")
        ),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (token_hash IS NULL)", name=op.f("ck_shop_carts_user_or_token")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_shop_carts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_shop_carts_organizer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_carts")),
    )
    op.create_index("uq_shop_carts_token_hash", "shop_carts", ["token_hash"], unique=True)
    op.create_index("ix_shop_carts_user", "shop_carts", ["user_id", "created_at"])

    op.create_table(
        "shop_cart_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cart_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("tier_id", sa.Uuid(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("options_key", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(product_id IS NULL) <> (tier_id IS NULL)",
            name=op.f("ck_shop_cart_items_product_or_tier"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shop_cart_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"],
            ["shop_carts.id"],
            name=op.f("fk_shop_cart_items_cart_id_shop_carts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["shop_products.id"],
            name=op.f("fk_shop_cart_items_product_id_shop_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["tiers.id"],
            name=op.f("fk_shop_cart_items_tier_id_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_cart_items")),
    )
    op.create_index(
        "uq_shop_cart_items_product",
        "shop_cart_items",
        ["cart_id", "product_id", "options_key"],
        unique=True,
        sqlite_where=sa.text("product_id IS NOT NULL"),
        postgresql_where=sa.text("product_id IS NOT NULL"),
    )
    op.create_index(
        "uq_shop_cart_items_tier",
        "shop_cart_items",
        ["cart_id", "tier_id"],
        unique=True,
        sqlite_where=sa.text("tier_id IS NOT NULL"),
        postgresql_where=sa.text("tier_id IS NOT NULL"),
    )
    op.create_index("ix_shop_cart_items_product", "shop_cart_items", ["product_id"])
    op.create_index("ix_shop_cart_items_tier", "shop_cart_items", ["tier_id"])


def downgrade() -> None:
    op.drop_table("shop_cart_items")
    op.drop_table("shop_carts")
    op.drop_table("shop_stock_adjustments")
    op.drop_table("shop_stock")
    op.drop_table("shop_products")
    op.drop_table("shop_categories")
