"""ticketing: a ticket's holder after a transfer, its code's version, its first check-in

Revision ID: 0024_ticket_holders
Revises: 0023_checkout_invoice
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0024_ticket_holders"
down_revision: str | None = "0023_checkout_invoice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("holder_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("holder_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("checked_in_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("checked_in_at")
        batch.drop_column("holder_email")
        batch.drop_column("holder_name")
        batch.drop_column("version")
