"""ticketing: how much of an order's payment went back, partial refunds included

Revision ID: 0013_partial_refunds
Revises: 0012_refund_policy
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_partial_refunds"
down_revision: str | None = "0012_refund_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("refunded_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.create_check_constraint(
            op.f("ck_orders_refunded_within_total"),
            "refunded_amount >= 0 AND refunded_amount <= total_amount",
        )


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_refunded_within_total"), type_="check")
        batch.drop_column("refunded_amount")
