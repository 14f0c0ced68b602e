"""Orders, order lines and tickets.

An order holds capacity while it is ``pending``, ``paid`` or ``refunding`` ("live"); every move
out of those states gives the capacity back exactly once, because every move is a conditional
update on the status (``WHERE status = :expected``) and only its winner releases.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admitone.core.orm import Base, Timestamps, UUIDPrimaryKey


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDING = "refunding"
    REFUNDED = "refunded"


LIVE_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.REFUNDING})
# Paid at some point: the payment is revenue, and a refund of it is a refund (of another
# order's money it would be a late payment going back).
REVENUE_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.REFUNDING, OrderStatus.REFUNDED})


class CancelReason(StrEnum):
    """Why an organizer or staff cancelled someone's order (or one past its refund window): a
    code, so the activity log can keep it (free text could hold personal data)."""

    CUSTOMER_REQUEST = "customer_request"
    EVENT_CANCELLED = "event_cancelled"
    EVENT_CHANGED = "event_changed"
    DUPLICATE = "duplicate"
    FRAUD = "fraud"
    GOODWILL = "goodwill"
    OTHER = "other"


class TicketStatus(StrEnum):
    VALID = "valid"
    VOID = "void"


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "orders"

    reference: Mapped[str] = mapped_column(String(16), unique=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    # Kept when the account goes: an order is a business record (anonymised, not deleted).
    buyer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # "user:<uuid>" or "email:<lower-case address>": who the buyer is for the one-pending-order
    # rule and for the scope of idempotency keys, signed in or not.
    buyer_key: Mapped[str] = mapped_column(String(300))
    customer_email: Mapped[str] = mapped_column(String(254))
    customer_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING.value)
    quantity: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # A guest reaches the order with its reference and this secret (sent by email); only its
    # hash is kept, so a database leak does not open anyone's orders.
    access_token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    payment_gateway: Mapped[str | None] = mapped_column(String(20))
    payment_method: Mapped[str | None] = mapped_column(String(100))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(50))
    # Money came in that the order must not keep (a refund is wanted and not yet confirmed by
    # the gateway): the sweeper retries until it is, so money is never kept silently.
    refund_due: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_reference: Mapped[str | None] = mapped_column(String(100))
    # What of the payment went back to the buyer and is in the ledger, partial refunds made in
    # the gateway's dashboard included: each refund counts once, and never beyond the total.
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # A coupon's discount: ``total_amount`` is what the lines cost less this, never below zero;
    # the lines keep their unit prices as sold.
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupons.id"))
    # The lines' sums as sold; the gross is ``total_amount`` (exclusive tax is charged on top).
    net_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The invoice the buyer asked for at checkout, as asked: ``{"billing": {...}}`` (name,
    # address, VAT id: personal data, for the account deletion to anonymise) or
    # ``{"billing_profile_id": ...}``. Billing issues it once the order is paid.
    invoice_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paid_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    # Set when the buyer's account was deleted: the order stays, naming no one.
    anonymized_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderLine.position"
    )
    tickets: Mapped[list[Ticket]] = relationship(
        back_populates="order", lazy="raise", order_by="Ticket.position"
    )

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
        CheckConstraint("discount_amount >= 0", name="discount_not_negative"),
        CheckConstraint("net_total >= 0 AND tax_total >= 0", name="tax_totals_not_negative"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= total_amount", name="refunded_within_total"
        ),
        # Idempotency keys are scoped to the buyer: two strangers who both pick "key-1" never
        # meet (a global scope would hand one the other's order). NULL keys never collide.
        UniqueConstraint("buyer_key", "idempotency_key", name="uq_orders_buyer_idempotency"),
        # One pending order per buyer per event; the index also settles two racing purchases.
        Index(
            "uq_orders_one_pending_per_buyer",
            "event_id",
            "buyer_key",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_orders_buyer_created", "buyer_user_id", "created_at", "id"),
        Index("ix_orders_event_created", "event_id", "created_at", "id"),
        # The expiry sweep reads pending orders by deadline; the refund sweep the few still due.
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index(
            "ix_orders_refund_due",
            "refund_due",
            sqlite_where=text("refund_due"),
            postgresql_where=text("refund_due"),
        ),
    )


class OrderLine(UUIDPrimaryKey, Base):
    """One line of an order: a ticket tier (``tier_id``) or a shop product (``product_id``),
    never both. One table for both kinds, so an order's total, its refunds and its history stay
    one list in one position order, and every reader of lines already has them."""

    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    tier_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tiers.id"))
    # A product line keeps its product's row reachable for stock returns; products are only
    # ever soft-deleted.
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shop_products.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    # Copied at purchase: a later price change never touches an order. For a product, the
    # price with the chosen options' modifiers.
    unit_price: Mapped[int] = mapped_column(BigInteger)
    tier_name: Mapped[str | None] = mapped_column(String(100))
    # What was sold, as it was sold (tax and invoices read these later, never the catalogue).
    product_name: Mapped[str | None] = mapped_column(String(200))
    category_name: Mapped[str | None] = mapped_column(String(100))
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # This line's share of the order's coupon discount, as computed at purchase: what the line
    # brought in is ``unit_price * quantity - discount_amount`` (the ledger splits revenue by it).
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The tax as sold (``core.tax``): the rate's name, basis points and kind, and the line after
    # its discount as net + tax = gross. No rate: tax 0 and net = gross.
    tax_name: Mapped[str | None] = mapped_column(String(50))
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    net: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gross: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")

    @property
    def is_ticket(self) -> bool:
        return self.tier_id is not None

    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("(tier_id IS NULL) <> (product_id IS NULL)", name="tier_or_product"),
        CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= unit_price * quantity",
            name="discount_within_line",
        ),
        CheckConstraint("net + tax = gross AND tax >= 0 AND net >= 0", name="line_tax_adds_up"),
        Index("ix_order_lines_order_id", "order_id"),
        Index("ix_order_lines_tier_id", "tier_id"),
        Index("ix_order_lines_product_id", "product_id"),
    )


class Ticket(UUIDPrimaryKey, Base):
    __tablename__ = "tickets"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    tier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tiers.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # What the QR code carries: 128 random bits, so a ticket cannot be guessed from another.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # Raised each time the ticket gets a new code (a transfer): a signed offline code names the
    # version it was issued for, so a superseded one is refused even where the code is not known.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Who the ticket is for once transferred; None while it is the buyer's own.
    holder_name: Mapped[str | None] = mapped_column(String(200))
    holder_email: Mapped[str | None] = mapped_column(String(254))
    # The first admission on any check-in list (None again if staff undo it): a ticket that got
    # in can be neither refunded by its buyer nor transferred.
    checked_in_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default=TicketStatus.VALID.value)
    created_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]
    # Set when the buyer's account was deleted; the ticket still admits unless voided.
    anonymized_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="tickets", lazy="raise")

    __table_args__ = (Index("ix_tickets_order_id", "order_id"),)
