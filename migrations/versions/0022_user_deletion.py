"""accounts: a user can be deleted; what the business keeps of them is anonymised in place

Posts outlive their author (organizer link SET NULL, ``author_deleted``), support replies are
marked ``author_deleted``, and orders and tickets say when they were anonymised.

Revision ID: 0022_user_deletion
Revises: 0021_memberships
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0022_user_deletion"
down_revision: str | None = "0021_memberships"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("author_deleted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.alter_column("organizer_id", existing_type=sa.Uuid(), nullable=True)
        batch.drop_constraint(op.f("fk_posts_organizer_id_users"), type_="foreignkey")
        batch.create_foreign_key(
            op.f("fk_posts_organizer_id_users"),
            "users",
            ["organizer_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("support_comments") as batch:
        batch.add_column(
            sa.Column("author_deleted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("anonymized_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("anonymized_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("anonymized_at")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("anonymized_at")
    with op.batch_alter_table("support_comments") as batch:
        batch.drop_column("author_deleted")
    # A post whose author is gone cannot name an organizer again: it goes with the downgrade.
    op.execute("DELETE FROM posts WHERE organizer_id IS NULL")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint(op.f("fk_posts_organizer_id_users"), type_="foreignkey")
        batch.create_foreign_key(
            op.f("fk_posts_organizer_id_users"), "users", ["organizer_id"], ["id"]
        )
        batch.alter_column("organizer_id", existing_type=sa.Uuid(), nullable=False)
        batch.drop_column("author_deleted")
