"""ledger: accounts, journal entries and lines, with the database refusing unbalanced entries

Revision ID: 0007_ledger
Revises: 0006_ticketing
Create Date: 2026-11-21

An entry is written lines first and sealed by its header: the header's insert trigger refuses
it unless its lines balance (at least two, debits = credits = amount, all in the entry's
currency and organizer), a line can no longer be added to a sealed entry, and the line-to-entry
foreign key is deferred to commit, so lines left without a header cannot commit. Entries and
lines are append-only: updates and deletes are refused. Same rules on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0007_ledger"
down_revision: str | None = "0006_ticketing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNBALANCED = "ledger_unbalanced_entry: the lines of a journal entry must balance"
_SEALED = "ledger_entry_sealed: lines cannot be added to a posted journal entry"
_APPEND_ONLY = "ledger_append_only: ledger rows cannot be changed; post a reversing entry"

# The f-strings below interpolate only the module's own constant messages and table names.
_SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER ledger_entries_balanced BEFORE INSERT ON ledger_entries
    WHEN (SELECT count(*) FROM ledger_lines WHERE entry_id = NEW.id) < 2
      OR (SELECT coalesce(sum(debit), 0) FROM ledger_lines WHERE entry_id = NEW.id) <> NEW.amount
      OR (SELECT coalesce(sum(credit), 0) FROM ledger_lines WHERE entry_id = NEW.id) <> NEW.amount
      OR EXISTS (
        SELECT 1 FROM ledger_lines AS l JOIN ledger_accounts AS a ON a.id = l.account_id
        WHERE l.entry_id = NEW.id
          AND (a.currency <> NEW.currency OR a.organizer_id <> NEW.organizer_id)
      )
    BEGIN SELECT RAISE(ABORT, '{_UNBALANCED}'); END
    """,  # noqa: S608
    f"""
    CREATE TRIGGER ledger_lines_sealed BEFORE INSERT ON ledger_lines
    WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
    BEGIN SELECT RAISE(ABORT, '{_SEALED}'); END
    """,  # noqa: S608
    *(
        f"""
        CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END
        """
        for table in ("ledger_entries", "ledger_lines")
        for verb in ("UPDATE", "DELETE")
    ),
    f"""
    CREATE TRIGGER ledger_accounts_no_update BEFORE UPDATE ON ledger_accounts
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END
    """,
]

# Class 23 SQLSTATEs, so that drivers raise an integrity error as they do on SQLite.
# 0010 sets enable_seqscan=off on the first two: a CREATE OR REPLACE of them must set it again.
_POSTGRES_FUNCTIONS = [
    f"""
    CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      line_count integer;
      debits bigint;
      credits bigint;
      foreign_lines integer;
    BEGIN
      SELECT count(*), coalesce(sum(debit), 0), coalesce(sum(credit), 0)
        INTO line_count, debits, credits
        FROM ledger_lines WHERE entry_id = NEW.id;
      SELECT count(*) INTO foreign_lines
        FROM ledger_lines AS l JOIN ledger_accounts AS a ON a.id = l.account_id
        WHERE l.entry_id = NEW.id
          AND (a.currency <> NEW.currency OR a.organizer_id <> NEW.organizer_id);
      IF line_count < 2 OR debits <> NEW.amount OR credits <> NEW.amount
         OR foreign_lines > 0 THEN
        RAISE EXCEPTION '{_UNBALANCED}' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$
    """,  # noqa: S608
    # The lock serialises writers of one entry's lines, so a line inserted by another
    # transaction while the entry is being sealed waits, then sees the header and is refused.
    f"""
    CREATE FUNCTION ledger_refuse_sealed_line() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(7007, hashtext(NEW.entry_id::text));
      IF EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION '{_SEALED}' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$
    """,  # noqa: S608
    f"""
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'restrict_violation';
    END $$
    """,
]

_POSTGRES_TRIGGERS = [
    """
    CREATE TRIGGER ledger_entries_balanced BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced()
    """,
    """
    CREATE TRIGGER ledger_lines_sealed BEFORE INSERT ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_sealed_line()
    """,
    *(
        f"""
        CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
        """
        for table in ("ledger_entries", "ledger_lines")
    ),
    *(
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()
        """
        for table in ("ledger_entries", "ledger_lines")
    ),
    """
    CREATE TRIGGER ledger_accounts_no_update BEFORE UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
]


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("account_type", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    op.create_index(
        "uq_ledger_accounts_organizer_wide",
        "ledger_accounts",
        ["organizer_id", "currency", "code"],
        unique=True,
        sqlite_where=sa.text("event_id IS NULL"),
        postgresql_where=sa.text("event_id IS NULL"),
    )
    op.create_index(
        "uq_ledger_accounts_per_event",
        "ledger_accounts",
        ["organizer_id", "currency", "code", "event_id"],
        unique=True,
        sqlite_where=sa.text("event_id IS NOT NULL"),
        postgresql_where=sa.text("event_id IS NOT NULL"),
    )
    op.create_index("ix_ledger_accounts_event_id", "ledger_accounts", ["event_id"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("gateway_ref", sa.String(length=255), nullable=True),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_entries_amount_positive")),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_ledger_entries_key")),
    )
    op.create_index("ix_ledger_entries_event_id", "ledger_entries", ["event_id"], unique=False)
    op.create_index("ix_ledger_entries_order_id", "ledger_entries", ["order_id"], unique=False)
    op.create_index(
        "ix_ledger_entries_organizer_posted",
        "ledger_entries",
        ["organizer_id", "posted_at"],
        unique=False,
    )
    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)",
            name=op.f("ck_ledger_lines_one_side"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_lines_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_lines_entry_id_ledger_entries"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    op.create_index(
        "ix_ledger_lines_entry_id", "ledger_lines", ["entry_id", "position"], unique=False
    )
    op.create_index("ix_ledger_lines_account_id", "ledger_lines", ["account_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in (*_POSTGRES_FUNCTIONS, *_POSTGRES_TRIGGERS):
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # CASCADE takes the PostgreSQL triggers with their functions; SQLite drops a table's
    # triggers with the table.
    if op.get_bind().dialect.name == "postgresql":
        for function in (
            "ledger_check_entry_balanced",
            "ledger_refuse_sealed_line",
            "ledger_refuse_change",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")
    op.drop_index("ix_ledger_lines_account_id", table_name="ledger_lines")
    op.drop_index("ix_ledger_lines_entry_id", table_name="ledger_lines")
    op.drop_table("ledger_lines")
    op.drop_index("ix_ledger_entries_organizer_posted", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_order_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_event_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_ledger_accounts_event_id", table_name="ledger_accounts")
    op.drop_index("uq_ledger_accounts_per_event", table_name="ledger_accounts")
    op.drop_index("uq_ledger_accounts_organizer_wide", table_name="ledger_accounts")
    op.drop_table("ledger_accounts")
