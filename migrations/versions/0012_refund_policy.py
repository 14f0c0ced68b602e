"""events: a refund policy per event (until the start, until a deadline, or none)

Revision ID: 0012_refund_policy
Revises: 0011_email_normalised
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0012_refund_policy"
down_revision: str | None = "0011_email_normalised"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration stays what it was when the models move on.
_POLICY_CHECK = "refund_policy IN ('until_start', 'until_deadline', 'none')"
_DEADLINE_CHECK = "(refund_policy = 'until_deadline') = (refund_deadline IS NOT NULL)"


def upgrade() -> None:
    # Batch mode: SQLite cannot add a CHECK constraint to a table in place.
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column(
                "refund_policy",
                sa.String(length=20),
                nullable=False,
                server_default="until_start",
            )
        )
        batch.add_column(sa.Column("refund_deadline", UTCDateTime(), nullable=True))
        batch.create_check_constraint(op.f("ck_events_refund_policy"), _POLICY_CHECK)
        batch.create_check_constraint(op.f("ck_events_refund_deadline"), _DEADLINE_CHECK)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("ck_events_refund_deadline"), type_="check")
        batch.drop_constraint(op.f("ck_events_refund_policy"), type_="check")
        batch.drop_column("refund_deadline")
        batch.drop_column("refund_policy")
