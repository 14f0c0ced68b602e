"""ledger: the sealing triggers look lines and entries up by index, whatever the statistics say

Their queries are planned once per connection. Statistics taken while the ledger was empty (an
ANALYZE before the first sale) made that plan a sequential scan, and every entry posted then read
every line posted before it: a purchase cost more with each one sold.

Revision ID: 0010_ledger_trigger_plans
Revises: 0009_webhook_events
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_ledger_trigger_plans"
down_revision: str | None = "0009_webhook_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = ("ledger_check_entry_balanced()", "ledger_refuse_sealed_line()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's planner uses the indexes without being told
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET enable_seqscan = off")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in _FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET enable_seqscan")
