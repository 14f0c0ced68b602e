"""payments: the payment provider's customer of each signed-in buyer

Revision ID: 0008_payment_customers
Revises: 0007_ledger
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0008_payment_customers"
down_revision: str | None = "0007_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_customers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_customers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "gateway", name=op.f("pk_payment_customers")),
    )


def downgrade() -> None:
    op.drop_table("payment_customers")
