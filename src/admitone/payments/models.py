"""The payment provider's customer of each signed-in buyer (created once, reused), and the
provider's webhook events already processed (each one exactly once)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.orm import Base, UUIDPrimaryKey


class PaymentCustomer(Base):
    __tablename__ = "payment_customers"

    # The provider's customer holds the buyer's name and email, so the link goes with the user.
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    gateway: Mapped[str] = mapped_column(String(20), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class ProcessedWebhookEvent(UUIDPrimaryKey, Base):
    """Written in the transaction of the event's effect: the unique key makes a replayed or
    concurrently redelivered event a no-op, and a rolled-back effect leaves it unrecorded, so
    the provider's retry processes it again."""

    __tablename__ = "webhook_events"

    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[uuid.UUID | None]
    # What it did: paid, late_payment, failed, refunded, ignored, ...
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_webhook_events_event"),)
