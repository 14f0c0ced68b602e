"""Billing profiles, organizers' billing settings, invoices and credit notes, and the counters
that number them.

An invoice or credit note is a snapshot: the buyer's billing details, the seller and the lines
are copied when it is issued, so later changes to a profile, a user or a price never reach it.
Only ``status`` and ``voided_at`` of an invoice ever change, once, when a credit note voids it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"  # an invoice a credit note cancelled; a credit note is never voided


class InvoiceMode(StrEnum):
    ON_REQUEST = "on_request"
    AUTOMATIC = "automatic"


class BillingProfile(UUIDPrimaryKey, Timestamps, Base):
    """A user's billing details (personal data: their owner and staff only see them)."""

    __tablename__ = "billing_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(20))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("name IS NOT NULL OR company IS NOT NULL", name="name_or_company"),
        Index("ix_billing_profiles_user", "user_id", "created_at"),
        # One default per user, kept by the database on both backends.
        Index(
            "uq_billing_profiles_one_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )


class BillingSettings(Timestamps, Base):
    """An organizer's billing choices; an organizer without a row has the defaults."""

    __tablename__ = "billing_settings"

    organizer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_mode: Mapped[str] = mapped_column(String(20))
    invoice_prefix: Mapped[str] = mapped_column(String(10))
    credit_note_prefix: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint("invoice_mode IN ('on_request', 'automatic')", name="mode_known"),
    )


class DocumentCounter(Base):
    """The last number given per organizer, year and kind. Taken by one conditional UPDATE ...
    RETURNING in the issuing transaction: the row stays locked until that transaction ends, so
    numbers are handed out one at a time, and a rollback gives the number back."""

    __tablename__ = "billing_counters"

    organizer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)


class Invoice(UUIDPrimaryKey, Base):
    """An invoice or a credit note (``kind``), numbered per organizer, year and kind."""

    __tablename__ = "invoices"

    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    # Kept when accounts go: an invoice is a business record.
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    buyer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    # A credit note names the invoice it cancels.
    credits_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    currency: Mapped[str] = mapped_column(String(3))
    # Positive for both kinds: the kind says which way the money goes.
    net_total: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    gross_total: Mapped[int] = mapped_column(BigInteger)
    seller_name: Mapped[str] = mapped_column(String(200))
    bill_to_name: Mapped[str | None] = mapped_column(String(200))
    bill_to_company: Mapped[str | None] = mapped_column(String(200))
    bill_to_address_line1: Mapped[str | None] = mapped_column(String(200))
    bill_to_address_line2: Mapped[str | None] = mapped_column(String(200))
    bill_to_city: Mapped[str | None] = mapped_column(String(100))
    bill_to_postcode: Mapped[str | None] = mapped_column(String(20))
    bill_to_country: Mapped[str | None] = mapped_column(String(2))
    bill_to_vat_id: Mapped[str | None] = mapped_column(String(20))
    issued_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]

    lines: Mapped[list[InvoiceLine]] = relationship(
        lazy="raise", order_by="InvoiceLine.position", back_populates="invoice"
    )

    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
        CheckConstraint("status IN ('issued', 'voided')", name="status_known"),
        CheckConstraint(
            "(kind = 'credit_note') = (credits_invoice_id IS NOT NULL)", name="credit_names_invoice"
        ),
        CheckConstraint("kind = 'invoice' OR status = 'issued'", name="credit_never_voided"),
        CheckConstraint("(status = 'voided') = (voided_at IS NOT NULL)", name="voided_when"),
        CheckConstraint("net_total + tax_total = gross_total", name="totals_add_up"),
        UniqueConstraint("organizer_id", "kind", "year", "sequence", name="uq_invoices_number"),
        # One invoice per order; an invoice may have several credit notes (partial refunds).
        Index(
            "uq_invoices_one_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("kind = 'invoice'"),
            postgresql_where=text("kind = 'invoice'"),
        ),
        Index("ix_invoices_credits", "credits_invoice_id"),
        Index("ix_invoices_created", "issued_at", "id"),
        Index("ix_invoices_buyer", "buyer_user_id", "issued_at"),
        Index("ix_invoices_organizer", "organizer_id", "issued_at"),
        Index("ix_invoices_order", "order_id"),
    )


class InvoiceLine(UUIDPrimaryKey, Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_net: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    # Basis points (2000 = 20 %), as the order line was sold; 0: no tax.
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_name: Mapped[str | None] = mapped_column(String(100))  # the rate's name as sold
    tax: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship(lazy="raise", back_populates="lines")

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("net + tax = gross", name="line_adds_up"),
        Index("ix_invoice_lines_invoice", "invoice_id"),
    )


class PlanInterval(StrEnum):
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(StrEnum):
    # Created, its first payment not taken yet (the buyer confirms it, or the provider reports).
    INCOMPLETE = "incomplete"
    TRIALING = "trialing"
    ACTIVE = "active"
    # A renewal was declined: still a member during the grace period, reminded by email.
    PAST_DUE = "past_due"
    # Ended by its user, an organizer or staff (now, or at the end of the paid period).
    CANCELED = "canceled"
    # Ended because it was not paid: the grace period ran out, or the first payment never came.
    EXPIRED = "expired"


# The status values (as stored) in which a subscription makes its user a member of its plan.
MEMBER_STATES: tuple[str, ...] = (
    SubscriptionStatus.TRIALING.value,
    SubscriptionStatus.ACTIVE.value,
    SubscriptionStatus.PAST_DUE.value,
)
# Those of a subscription that has not ended: at most one per user and plan.
LIVE_STATES: tuple[str, ...] = (SubscriptionStatus.INCOMPLETE.value, *MEMBER_STATES)
# Those whose period's end starts the next one (past_due waits for its grace instead).
RENEWABLE_STATES: tuple[str, ...] = (
    SubscriptionStatus.TRIALING.value,
    SubscriptionStatus.ACTIVE.value,
)
_LIVE_SQL = "status IN ({})".format(", ".join(f"'{state}'" for state in LIVE_STATES))


class ChargeState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Plan(UUIDPrimaryKey, Timestamps, Base):
    """A membership an organizer sells: a price per month or year, with an optional trial."""

    __tablename__ = "plans"

    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    price: Mapped[int] = mapped_column(BigInteger)  # minor units per period
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10))
    trial_days: Mapped[int] = mapped_column(Integer, default=0)
    # A plan with subscriptions is archived, never deleted: nobody new can subscribe.
    archived_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
        CheckConstraint("trial_days >= 0 AND trial_days <= 730", name="trial_days_range"),
        Index("ix_plans_organizer", "organizer_id", "created_at"),
    )


class Subscription(UUIDPrimaryKey, Timestamps, Base):
    """A user's subscription to a plan. Its price, currency and interval are copied from the
    plan at subscribe time, so a later change of the plan never reprices it."""

    __tablename__ = "subscriptions"

    # A deleted user's subscriptions are kept unlinked: the ledger keeps naming the
    # subscription, which no longer names anyone.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    organizer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10))
    gateway: Mapped[str] = mapped_column(String(20))
    gateway_subscription_id: Mapped[str | None] = mapped_column(String(255))
    gateway_customer_id: Mapped[str | None] = mapped_column(String(255))
    # What the renewals of a gateway that does not bill periods itself charge (a payment
    # method reference, never card data).
    gateway_payment_method: Mapped[str | None] = mapped_column(String(255))
    # The paid (or trial) period now running; its number keys the renewal's charge.
    period_number: Mapped[int] = mapped_column(Integer, default=0)
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    trial_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    past_due_since: Mapped[datetime | None]
    grace_until: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The creation time of the newest provider event applied: an older one arriving late
    # never undoes a newer state.
    last_event_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "status IN ('incomplete', 'trialing', 'active', 'past_due', 'canceled', 'expired')",
            name="status_known",
        ),
        CheckConstraint("price >= 0", name="price_not_negative"),
        Index("ix_subscriptions_user", "user_id", "created_at"),
        Index("ix_subscriptions_organizer", "organizer_id", "created_at"),
        Index("ix_subscriptions_period_end", "status", "current_period_end"),
        # One subscription that has not ended per user and plan, on both backends.
        Index(
            "uq_subscriptions_live_per_user_plan",
            "user_id",
            "plan_id",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
        Index(
            "uq_subscriptions_gateway_ref",
            "gateway",
            "gateway_subscription_id",
            unique=True,
            sqlite_where=text("gateway_subscription_id IS NOT NULL"),
            postgresql_where=text("gateway_subscription_id IS NOT NULL"),
        ),
    )


class SubscriptionCharge(UUIDPrimaryKey, Timestamps, Base):
    """One period's payment of a subscription. Unique per subscription and period, so a renewal
    retried (a job run again, a webhook replayed) never charges or books a period twice."""

    __tablename__ = "subscription_charges"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    period_number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))
    gateway_charge_id: Mapped[str | None] = mapped_column(String(255))
    gateway_invoice_id: Mapped[str | None] = mapped_column(String(255))
    fee: Mapped[int | None] = mapped_column(BigInteger)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name="state_known"),
        CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"
        ),
        UniqueConstraint("subscription_id", "period_number", name="uq_subscription_charges_period"),
        Index(
            "uq_subscription_charges_gateway_invoice",
            "gateway_invoice_id",
            unique=True,
            sqlite_where=text("gateway_invoice_id IS NOT NULL"),
            postgresql_where=text("gateway_invoice_id IS NOT NULL"),
        ),
    )
