"""What a deleted account leaves of its orders: pending ones cancelled (their seats given back
through the same transition as any cancel), the rest kept as business records naming no one,
and their tickets still admitting their holder unless voided."""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast, literal, select, update

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import AFTER_ACCOUNT, FIRST, Erasure, Subject, register
from admitone.ticketing.cancellation import cancel_pending_of_deleted_buyer
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.models import Order, OrderStatus, Ticket

DELETED_NAME = "Deleted user"
DELETED_EMAIL = "deleted-user@invalid.invalid"
TABLES = {"orders", "order_lines", "tickets"}


async def erase_orders(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    await _anonymise(uow, Order.buyer_user_id == subject.user_id, erasure)


async def erase_late_orders(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    """Orders committed by another connection after ``erase_orders`` ran and before the account
    row went (READ COMMITTED lets them in; none can follow, their foreign key now fails). The
    row's deletion set their ``buyer_user_id`` to NULL, so they are found by their buyer key."""
    whose = Order.buyer_key == buyer_key(subject.user_id, subject.email)
    await _anonymise(uow, whose & Order.anonymized_at.is_(None), erasure)


async def _anonymise(uow: UnitOfWork, whose: ColumnElement[bool], erasure: Erasure) -> None:
    pending = await uow.session.scalars(
        select(Order.id).where(whose, Order.status == OrderStatus.PENDING).order_by(Order.id)
    )
    for order_id in pending.all():
        if await cancel_pending_of_deleted_buyer(uow, order_id):
            erasure.count(erasure.anonymised, "pending_orders_cancelled", 1)
    now = uow.clock.now()
    ids = select(Order.id).where(whose).scalar_subquery()
    tickets = await uow.session.execute(
        update(Ticket).where(Ticket.order_id.in_(ids)).values(anonymized_at=now)
    )
    orders = await uow.session.execute(
        update(Order)
        .where(whose)
        .values(
            buyer_user_id=None,
            # Still unique per order, so the one-pending-order and idempotency rules hold.
            buyer_key=literal("deleted:") + cast(Order.id, String),
            customer_name=DELETED_NAME,
            customer_email=DELETED_EMAIL,
            cancel_reason=None,
            # The billing details asked for at checkout; an issued invoice keeps its snapshot.
            invoice_details=None,
            anonymized_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.anonymised, "orders", orders.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.anonymised, "tickets", tickets.rowcount)  # type: ignore[attr-defined]


register("ticketing", TABLES, erase_orders, stage=FIRST)
register("ticketing", TABLES, erase_late_orders, stage=AFTER_ACCOUNT, step="after_account")
