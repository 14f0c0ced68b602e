"""taxes: rates on events, tiers and products; net, tax and gross per order line and order;
several (partial) credit notes per invoice

Revision ID: 0020_taxes
Revises: 0019_billing
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_taxes"
down_revision: str | None = "0019_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RATE_CHECK = (
    "(tax_name IS NULL) = (tax_rate_bp IS NULL) AND (tax_name IS NULL) = (tax_inclusive IS NULL) "
    "AND (tax_rate_bp IS NULL OR (tax_rate_bp >= 0 AND tax_rate_bp <= 10000))"
)
_RATED = ("events", "tiers", "shop_products")


def upgrade() -> None:
    for table in _RATED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tax_name", sa.String(length=50), nullable=True))
            batch.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("tax_inclusive", sa.Boolean(), nullable=True))
            batch.create_check_constraint(op.f(f"ck_{table}_tax_rate_whole"), _RATE_CHECK)
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("tax_name", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("tax_inclusive", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        for name in ("net", "tax", "gross"):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    # Lines sold before taxes existed carried none: net and gross are what they brought in.
    op.execute(
        "UPDATE order_lines SET net = unit_price * quantity - discount_amount, "
        "gross = unit_price * quantity - discount_amount"
    )
    with op.batch_alter_table("order_lines") as batch:
        batch.create_check_constraint(
            op.f("ck_order_lines_line_tax_adds_up"), "net + tax = gross AND tax >= 0 AND net >= 0"
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("net_total", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("tax_total", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute("UPDATE orders SET net_total = total_amount")
    with op.batch_alter_table("orders") as batch:
        batch.create_check_constraint(
            op.f("ck_orders_tax_totals_not_negative"), "net_total >= 0 AND tax_total >= 0"
        )
    # A partial refund credits part of an invoice: an invoice may have several credit notes.
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index("uq_invoices_one_credit")
        batch.create_index("ix_invoices_credits", ["credits_invoice_id"], unique=False)
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("tax_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("tax_name")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index("ix_invoices_credits")
        batch.create_index("uq_invoices_one_credit", ["credits_invoice_id"], unique=True)
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_tax_totals_not_negative"), type_="check")
        batch.drop_column("tax_total")
        batch.drop_column("net_total")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_line_tax_adds_up"), type_="check")
        for name in ("gross", "tax", "net", "tax_inclusive", "tax_rate_bp", "tax_name"):
            batch.drop_column(name)
    for table in reversed(_RATED):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_tax_rate_whole"), type_="check")
            batch.drop_column("tax_inclusive")
            batch.drop_column("tax_rate_bp")
            batch.drop_column("tax_name")
