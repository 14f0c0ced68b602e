"""ticketing: the invoice a buyer asks for at checkout, kept with the order as sold

Revision ID: 0023_checkout_invoice
Revises: 0022_user_deletion
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_checkout_invoice"
down_revision: str | None = "0022_user_deletion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("invoice_details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("invoice_details")
