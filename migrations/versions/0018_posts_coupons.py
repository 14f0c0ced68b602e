"""posts and coupons: posts, coupons, their redemptions, an order's discount, tiers soft-deleted
with their event

Revision ID: 0018_posts_coupons
Revises: 0016_shop
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0018_posts_coupons"
down_revision: str | None = "0017_product_lines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_from_event_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_posts_status_known")),
        sa.ForeignKeyConstraint(
            ["created_from_event_id"],
            ["events.id"],
            name=op.f("fk_posts_created_from_event_id_events"),
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_posts_organizer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index("ix_posts_organizer_created", "posts", ["organizer_id", "created_at", "id"])
    op.create_index("ix_posts_created_from_event", "posts", ["created_from_event_id"])

    op.create_table(
        "coupons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("code_key", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("per_buyer_limit", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("target_ids", sa.JSON(), nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_coupons_uses_not_negative")),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name=op.f("ck_coupons_kind_known")),
        sa.CheckConstraint(
            "scope IN ('order', 'tiers', 'products')", name=op.f("ck_coupons_scope_known")
        ),
        sa.CheckConstraint(
            "(kind = 'percent' AND percent_off BETWEEN 1 AND 10000 AND amount_off IS NULL)"
            " OR (kind = 'fixed' AND amount_off > 0 AND currency IS NOT NULL"
            " AND percent_off IS NULL)",
            name=op.f("ck_coupons_discount_shape"),
        ),
        sa.CheckConstraint(
            "usage_limit IS NULL OR usage_limit >= 1",
            name=op.f("ck_coupons_usage_limit_positive"),
        ),
        sa.CheckConstraint(
            "per_buyer_limit IS NULL OR per_buyer_limit >= 1",
            name=op.f("ck_coupons_per_buyer_limit_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_coupons_organizer_id_users")
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_coupons_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
    )
    op.create_index(
        "uq_coupons_organizer_code",
        "coupons",
        ["organizer_id", "code_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_coupons_organizer_created", "coupons", ["organizer_id", "created_at", "id"])
    op.create_index("ix_coupons_post", "coupons", ["post_id"])

    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_hash", sa.String(length=64), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "discount_amount >= 0", name=op.f("ck_coupon_redemptions_discount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
    )
    op.create_index("uq_coupon_redemptions_order", "coupon_redemptions", ["order_id"], unique=True)
    op.create_index(
        "ix_coupon_redemptions_coupon_buyer", "coupon_redemptions", ["coupon_id", "buyer_hash"]
    )

    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("discount_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("coupon_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_orders_coupon_id_coupons"), "coupons", ["coupon_id"], ["id"]
        )
        batch.create_check_constraint(
            op.f("ck_orders_discount_not_negative"), "discount_amount >= 0"
        )

    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("discount_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.create_check_constraint(
            op.f("ck_order_lines_discount_within_line"),
            "discount_amount >= 0 AND discount_amount <= unit_price * quantity",
        )

    with op.batch_alter_table("tiers") as batch:
        batch.add_column(
            sa.Column("is_available", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tiers") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("is_available")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_discount_within_line"), type_="check")
        batch.drop_column("discount_amount")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_discount_not_negative"), type_="check")
        batch.drop_constraint(op.f("fk_orders_coupon_id_coupons"), type_="foreignkey")
        batch.drop_column("coupon_id")
        batch.drop_column("discount_amount")
    op.drop_index("ix_coupon_redemptions_coupon_buyer", table_name="coupon_redemptions")
    op.drop_index("uq_coupon_redemptions_order", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_coupons_post", table_name="coupons")
    op.drop_index("ix_coupons_organizer_created", table_name="coupons")
    op.drop_index("uq_coupons_organizer_code", table_name="coupons")
    op.drop_table("coupons")
    op.drop_index("ix_posts_created_from_event", table_name="posts")
    op.drop_index("ix_posts_organizer_created", table_name="posts")
    op.drop_table("posts")
