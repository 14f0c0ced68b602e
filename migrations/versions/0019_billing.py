"""billing: profiles, settings, invoices and credit notes

Revision ID: 0019_billing
Revises: 0016_shop
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admitone.core.orm import UTCDateTime

revision: str = "0019_billing"
down_revision: str | None = "0018_posts_coupons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_counters",
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_billing_counters_last_number_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_billing_counters_organizer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organizer_id", "year", "kind", name=op.f("pk_billing_counters")),
    )
    op.create_table(
        "billing_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("vat_id", sa.String(length=20), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "name IS NOT NULL OR company IS NOT NULL",
            name=op.f("ck_billing_profiles_name_or_company"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_billing_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_profiles")),
    )
    with op.batch_alter_table("billing_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_billing_profiles_user", ["user_id", "created_at"], unique=False)
        batch_op.create_index(
            "uq_billing_profiles_one_default",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )

    op.create_table(
        "billing_settings",
        sa.Column("organizer_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_mode", sa.String(length=20), nullable=False),
        sa.Column("invoice_prefix", sa.String(length=10), nullable=False),
        sa.Column("credit_note_prefix", sa.String(length=10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "invoice_mode IN ('on_request', 'automatic')",
            name=op.f("ck_billing_settings_mode_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_billing_settings_organizer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organizer_id", name=op.f("pk_billing_settings")),
    )
    op.create_table(
        "invoices",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("organizer_id", sa.Uuid(), nullable=True),
        sa.Column("buyer_user_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("credits_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_total", sa.BigInteger(), nullable=False),
        sa.Column("tax_total", sa.BigInteger(), nullable=False),
        sa.Column("gross_total", sa.BigInteger(), nullable=False),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("bill_to_name", sa.String(length=200), nullable=True),
        sa.Column("bill_to_company", sa.String(length=200), nullable=True),
        sa.Column("bill_to_address_line1", sa.String(length=200), nullable=True),
        sa.Column("bill_to_address_line2", sa.String(length=200), nullable=True),
        sa.Column("bill_to_city", sa.String(length=100), nullable=True),
        sa.Column("bill_to_postcode", sa.String(length=20), nullable=True),
        sa.Column("bill_to_country", sa.String(length=2), nullable=True),
        sa.Column("bill_to_vat_id", sa.String(length=20), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'credit_note') = (credits_invoice_id IS NOT NULL)",
            name=op.f("ck_invoices_credit_names_invoice"),
        ),
        sa.CheckConstraint(
            "(status = 'voided') = (voided_at IS NOT NULL)", name=op.f("ck_invoices_voided_when")
        ),
        sa.CheckConstraint(
            "kind = 'invoice' OR status = 'issued'", name=op.f("ck_invoices_credit_never_voided")
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note')", name=op.f("ck_invoices_kind_known")
        ),
        sa.CheckConstraint("status IN ('issued', 'voided')", name=op.f("ck_invoices_status_known")),
        sa.CheckConstraint(
            "net_total + tax_total = gross_total", name=op.f("ck_invoices_totals_add_up")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_user_id"],
            ["users.id"],
            name=op.f("fk_invoices_buyer_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["credits_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoices_credits_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_invoices_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_invoices_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_invoices_organizer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("organizer_id", "kind", "year", "sequence", name="uq_invoices_number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_buyer", ["buyer_user_id", "issued_at"], unique=False)
        batch_op.create_index("ix_invoices_created", ["issued_at", "id"], unique=False)
        batch_op.create_index("ix_invoices_order", ["order_id"], unique=False)
        batch_op.create_index("ix_invoices_organizer", ["organizer_id", "issued_at"], unique=False)
        batch_op.create_index("uq_invoices_one_credit", ["credits_invoice_id"], unique=True)
        batch_op.create_index(
            "uq_invoices_one_per_order",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'invoice'"),
            postgresql_where=sa.text("kind = 'invoice'"),
        )

    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_net", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_bp", sa.Integer(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("net + tax = gross", name=op.f("ck_invoice_lines_line_adds_up")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_invoice_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_lines_invoice", ["invoice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_lines_invoice")

    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoices_one_per_order",
            sqlite_where=sa.text("kind = 'invoice'"),
            postgresql_where=sa.text("kind = 'invoice'"),
        )
        batch_op.drop_index("uq_invoices_one_credit")
        batch_op.drop_index("ix_invoices_organizer")
        batch_op.drop_index("ix_invoices_order")
        batch_op.drop_index("ix_invoices_created")
        batch_op.drop_index("ix_invoices_buyer")

    op.drop_table("invoices")
    op.drop_table("billing_settings")
    with op.batch_alter_table("billing_profiles", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_billing_profiles_one_default",
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )
        batch_op.drop_index("ix_billing_profiles_user")

    op.drop_table("billing_profiles")
    op.drop_table("billing_counters")
