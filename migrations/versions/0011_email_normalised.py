"""accounts: users.email_normalised, the casefolded address that sign-in and uniqueness compare

SQLite's lower() folds ASCII letters only, so an address with a non-ASCII capital could not sign
in typed another way, and two spellings of one address could both register. The folded form is
now computed in Python and stored, with the unique index on it.

Revision ID: 0011_email_normalised
Revises: 0010_ledger_trigger_plans
Create Date: 2026-12-03
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_email_normalised"
down_revision: str | None = "0010_ledger_trigger_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_normalised", sa.String()),
)


def _email_key(address: str) -> str:
    # A copy of admitone.core.emails.email_key as of this revision: a migration must keep doing
    # what it did when the code it was written with has moved on.
    folded = unicodedata.normalize("NFKC", address.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Making a column NOT NULL on SQLite means rebuilding the table, and dropping the old
        # users table with foreign keys on would cascade-delete every refresh token. A column
        # added NOT NULL needs a default; every row gets its real value just below.
        op.add_column(
            "users",
            sa.Column("email_normalised", sa.String(254), nullable=False, server_default=""),
        )
    else:
        op.add_column("users", sa.Column("email_normalised", sa.String(254), nullable=True))

    owners: dict[str, list[str]] = defaultdict(list)
    rows = bind.execute(sa.select(_users.c.id, _users.c.email)).all()
    for user_id, email in rows:
        owners[_email_key(email)].append(str(user_id))
    clashes = [ids for ids in owners.values() if len(ids) > 1]
    if clashes:
        # Two accounts that were one address spelt two ways: merging them is a person's call.
        raise RuntimeError(
            "these accounts have the same email address up to letter case and cannot be told "
            f"apart at sign-in; merge or rename them, then migrate again: {clashes}"
        )
    for user_id, email in rows:
        bind.execute(
            _users.update().where(_users.c.id == user_id).values(email_normalised=_email_key(email))
        )

    if bind.dialect.name != "sqlite":
        op.alter_column("users", "email_normalised", nullable=False)
    op.drop_index("uq_users_email_lower", table_name="users")
    op.create_index("uq_users_email_normalised", "users", ["email_normalised"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_email_normalised", table_name="users")
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.drop_column("users", "email_normalised")
