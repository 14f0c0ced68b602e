"""product order lines: an order line is a ticket tier or a shop product, as sold

Revision ID: 0017_product_lines
Revises: 0016_shop
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_product_lines"
down_revision: str | None = "0016_shop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.alter_column("tier_id", existing_type=sa.Uuid(), nullable=True)
        batch.alter_column("tier_name", existing_type=sa.String(length=100), nullable=True)
        batch.add_column(sa.Column("product_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("product_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("category_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_order_lines_product_id_shop_products"),
            "shop_products",
            ["product_id"],
            ["id"],
        )
        batch.create_check_constraint(
            op.f("ck_order_lines_tier_or_product"), "(tier_id IS NULL) <> (product_id IS NULL)"
        )
    op.create_index("ix_order_lines_product_id", "order_lines", ["product_id"], unique=False)


def downgrade() -> None:
    # Product lines have no tier to fall back on: they go before the columns do.
    op.execute("DELETE FROM order_lines WHERE product_id IS NOT NULL")
    op.drop_index("ix_order_lines_product_id", table_name="order_lines")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_tier_or_product"), type_="check")
        batch.drop_constraint(op.f("fk_order_lines_product_id_shop_products"), type_="foreignkey")
        batch.drop_column("options")
        batch.drop_column("category_name")
        batch.drop_column("product_name")
        batch.drop_column("product_id")
        batch.alter_column("tier_name", existing_type=sa.String(length=100), nullable=False)
        batch.alter_column("tier_id", existing_type=sa.Uuid(), nullable=False)
