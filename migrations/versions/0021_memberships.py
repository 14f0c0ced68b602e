"""billing: membership plans, subscriptions and their charges; tiers name the plans they require

Revision ID: 0021_memberships
Revises: 0020_taxes
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0021_memberships"
down_revision: str | None = "0020_taxes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("interval IN ('month', 'year')", name=op.f("ck_plans_interval_known")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_plans_price_not_negative")),
        sa.CheckConstraint(
            "trial_days >= 0 AND trial_days <= 730", name=op.f("ck_plans_trial_days_range")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_plans_organizer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_index("ix_plans_organizer", "plans", ["organizer_id", "created_at"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("gateway_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("gateway_customer_id", sa.String(length=255), nullable=True),
        sa.Column("gateway_payment_method", sa.String(length=255), nullable=True),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("current_period_start", UTCDateTime(), nullable=True),
        sa.Column("current_period_end", UTCDateTime(), nullable=True),
        sa.Column("trial_end", UTCDateTime(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("past_due_since", UTCDateTime(), nullable=True),
        sa.Column("grace_until", UTCDateTime(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('incomplete', 'trialing', 'active', 'past_due', 'canceled', 'expired')",
            name=op.f("ck_subscriptions_status_known"),
        ),
        sa.CheckConstraint("price >= 0", name=op.f("ck_subscriptions_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["organizer_id"], ["users.id"], name=op.f("fk_subscriptions_organizer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_subscriptions_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        "ix_subscriptions_organizer", "subscriptions", ["organizer_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_subscriptions_period_end",
        "subscriptions",
        ["status", "current_period_end"],
        unique=False,
    )
    op.create_index(
        "ix_subscriptions_user", "subscriptions", ["user_id", "created_at"], unique=False
    )
    op.create_index(
        "uq_subscriptions_gateway_ref",
        "subscriptions",
        ["gateway", "gateway_subscription_id"],
        unique=True,
        sqlite_where=sa.text("gateway_subscription_id IS NOT NULL"),
        postgresql_where=sa.text("gateway_subscription_id IS NOT NULL"),
    )
    op.create_index(
        "uq_subscriptions_live_per_user_plan",
        "subscriptions",
        ["user_id", "plan_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('incomplete', 'trialing', 'active', 'past_due')"),
        postgresql_where=sa.text("status IN ('incomplete', 'trialing', 'active', 'past_due')"),
    )
    op.create_table(
        "subscription_charges",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("period_start", UTCDateTime(), nullable=False),
        sa.Column("period_end", UTCDateTime(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("gateway_charge_id", sa.String(length=255), nullable=True),
        sa.Column("gateway_invoice_id", sa.String(length=255), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("failure_reason", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_subscription_charges_state_known"),
        ),
        sa.CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount",
            name=op.f("ck_subscription_charges_refund_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_charges_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_charges")),
        sa.UniqueConstraint(
            "subscription_id", "period_number", name="uq_subscription_charges_period"
        ),
    )
    op.create_index(
        "uq_subscription_charges_gateway_invoice",
        "subscription_charges",
        ["gateway_invoice_id"],
        unique=True,
        sqlite_where=sa.text("gateway_invoice_id IS NOT NULL"),
        postgresql_where=sa.text("gateway_invoice_id IS NOT NULL"),
    )
    # Not in batch mode: recreating the table on SQLite would drop the ledger's sealing triggers.
    op.add_column("ledger_entries", sa.Column("subscription_id", sa.Uuid(), nullable=True))
    op.create_index("ix_ledger_entries_subscription_id", "ledger_entries", ["subscription_id"])
    with op.batch_alter_table("tiers") as batch:
        batch.add_column(
            sa.Column(
                "required_plan_ids", sa.JSON(), server_default=sa.text("'[]'"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tiers") as batch:
        batch.drop_column("required_plan_ids")
    op.drop_index("ix_ledger_entries_subscription_id", table_name="ledger_entries")
    op.drop_column("ledger_entries", "subscription_id")
    op.drop_index(
        "uq_subscription_charges_gateway_invoice",
        table_name="subscription_charges",
        sqlite_where=sa.text("gateway_invoice_id IS NOT NULL"),
        postgresql_where=sa.text("gateway_invoice_id IS NOT NULL"),
    )
    op.drop_table("subscription_charges")
    op.drop_index(
        "uq_subscriptions_live_per_user_plan",
        table_name="subscriptions",
        sqlite_where=sa.text("status IN ('incomplete', 'trialing', 'active', 'past_due')"),
        postgresql_where=sa.text("status IN ('incomplete', 'trialing', 'active', 'past_due')"),
    )
    op.drop_index(
        "uq_subscriptions_gateway_ref",
        table_name="subscriptions",
        sqlite_where=sa.text("gateway_subscription_id IS NOT NULL"),
        postgresql_where=sa.text("gateway_subscription_id IS NOT NULL"),
    )
    op.drop_index("ix_subscriptions_user", table_name="subscriptions")
    op.drop_index("ix_subscriptions_period_end", table_name="subscriptions")
    op.drop_index("ix_subscriptions_organizer", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_plans_organizer", table_name="plans")
    op.drop_table("plans")
