"""What payments needs to know about an order's money, read without handing it the tables: the
order a webhook names, and the orders whose payment reconciliation should ask the gateway about.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select

from admitone.core.db import UnitOfWork
from admitone.ticketing.models import Order, OrderStatus


@dataclass(frozen=True, slots=True)
class OrderPayment:
    order_id: uuid.UUID
    status: OrderStatus
    payment_reference: str | None
    refund_due: bool
    refund_reference: str | None
    total_amount: int
    currency: str


_COLUMNS = (
    Order.id,
    Order.status,
    Order.payment_reference,
    Order.refund_due,
    Order.refund_reference,
    Order.total_amount,
    Order.currency,
)
_Row = Row[uuid.UUID, str, str | None, bool, str | None, int, str]
# Closed before it was paid: a payment that lands on one of these is a late payment.
_CLOSED_UNPAID = (OrderStatus.EXPIRED.value, OrderStatus.FAILED.value, OrderStatus.CANCELLED.value)


async def payment_of(uow: UnitOfWork, order_id: uuid.UUID) -> OrderPayment | None:
    row = (await uow.session.execute(select(*_COLUMNS).where(Order.id == order_id))).first()
    return _view(row) if row else None


async def by_payment_reference(uow: UnitOfWork, reference: str) -> OrderPayment | None:
    row = (
        await uow.session.execute(
            select(*_COLUMNS).where(Order.payment_reference == reference).limit(1)
        )
    ).first()
    return _view(row) if row else None


async def to_reconcile(
    uow: UnitOfWork, *, settled_before: datetime, closed_since: datetime, limit: int
) -> list[OrderPayment]:
    """Orders whose payment the gateway may know more about than we do: pending or refunding
    past a grace period (oldest first), and unpaid orders closed recently that had a payment
    intent (newest first: a success that landed after expiry, its webhook lost)."""
    stuck = await uow.session.execute(
        select(*_COLUMNS)
        .where(
            Order.status.in_([OrderStatus.PENDING.value, OrderStatus.REFUNDING.value]),
            Order.updated_at <= settled_before,
            Order.total_amount > 0,
        )
        .order_by(Order.updated_at)
        .limit(limit)
    )
    closed = await uow.session.execute(
        select(*_COLUMNS)
        .where(
            Order.status.in_(_CLOSED_UNPAID),
            Order.payment_reference.is_not(None),
            Order.refund_reference.is_(None),
            Order.refund_due.is_(False),
            Order.updated_at >= closed_since,
            Order.updated_at <= settled_before,
        )
        .order_by(Order.updated_at.desc())
        .limit(limit)
    )
    return [_view(row) for row in (*stuck, *closed)]


def _view(row: _Row) -> OrderPayment:
    return OrderPayment(
        row[0], OrderStatus(row[1]), row[2], bool(row[3]), row[4], int(row[5]), row[6]
    )
