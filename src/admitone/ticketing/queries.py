"""Reads of orders. Everything a buyer can reach is scoped by owner in the query itself (rule 8):
another buyer's order is simply not found."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, false, or_, select
from sqlalchemy.orm import selectinload

from admitone.core.db import UnitOfWork
from admitone.core.ids import sha256_hex
from admitone.core.pagination import Page, paginate
from admitone.ticketing.errors import OrderNotFound
from admitone.ticketing.models import Order, OrderLine, OrderStatus


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a signed-in user (maybe staff), or a guest holding an order's token."""

    user_id: uuid.UUID | None = None
    is_staff: bool = False
    access_token: str | None = None


def _fresh(stmt: Select[Order], *, lines: bool, tickets: bool) -> Select[Order]:
    # Orders change under concurrent requests: always read the row, never the identity map.
    stmt = stmt.execution_options(populate_existing=True)
    if lines:
        stmt = stmt.options(selectinload(Order.lines))
    if tickets:
        stmt = stmt.options(selectinload(Order.tickets))
    return stmt


async def get_order(
    uow: UnitOfWork, order_id: uuid.UUID, *, lines: bool = True, tickets: bool = False
) -> Order:
    order = await uow.session.scalar(
        _fresh(select(Order).where(Order.id == order_id), lines=lines, tickets=tickets)
    )
    if order is None:
        raise OrderNotFound()
    return order


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_staff:
        return Order.id.is_not(None)
    clauses: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        clauses.append(Order.buyer_user_id == viewer.user_id)
    if viewer.access_token:
        clauses.append(Order.access_token_hash == sha256_hex(viewer.access_token))
    return or_(*clauses) if clauses else false()


async def order_for_viewer(
    uow: UnitOfWork, order_id: uuid.UUID, viewer: Viewer, *, tickets: bool = True
) -> Order:
    order = await find_for_viewer(uow, order_id, viewer, tickets=tickets)
    if order is None:
        raise OrderNotFound()
    return order


async def find_for_viewer(
    uow: UnitOfWork, order_id: uuid.UUID, viewer: Viewer, *, tickets: bool = True
) -> Order | None:
    return await uow.session.scalar(
        _fresh(
            select(Order).where(Order.id == order_id, _visible_to(viewer)),
            lines=True,
            tickets=tickets,
        )
    )


def as_buyer(viewer: Viewer) -> Viewer:
    """The viewer without staff rights: finds only the orders they bought (or hold a token of)."""
    return Viewer(user_id=viewer.user_id, access_token=viewer.access_token)


async def order_by_reference(uow: UnitOfWork, reference: str, viewer: Viewer) -> Order:
    order = await uow.session.scalar(
        _fresh(
            select(Order).where(Order.reference == reference.strip().upper(), _visible_to(viewer)),
            lines=True,
            tickets=True,
        )
    )
    if order is None:
        raise OrderNotFound()
    return order


def token_matches(order: Order, token: str) -> bool:
    return hmac.compare_digest(order.access_token_hash, sha256_hex(token))


async def find_by_idempotency_key(uow: UnitOfWork, buyer_key: str, key: str) -> Order | None:
    return await uow.session.scalar(
        _fresh(
            select(Order).where(Order.buyer_key == buyer_key, Order.idempotency_key == key),
            lines=True,
            tickets=True,
        )
    )


async def pending_order_for(uow: UnitOfWork, event_id: uuid.UUID, buyer_key: str) -> Order | None:
    return await uow.session.scalar(
        select(Order).where(
            Order.event_id == event_id,
            Order.buyer_key == buyer_key,
            Order.status == OrderStatus.PENDING.value,
        )
    )


async def list_for_buyer(
    uow: UnitOfWork, user_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Order]:
    stmt = _fresh(select(Order).where(Order.buyer_user_id == user_id), lines=True, tickets=False)
    return await paginate(
        uow.session, stmt, created_at=Order.created_at, row_id=Order.id, limit=limit, cursor=cursor
    )


async def list_for_event(
    uow: UnitOfWork, event_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Order]:
    stmt = _fresh(select(Order).where(Order.event_id == event_id), lines=True, tickets=False)
    return await paginate(
        uow.session, stmt, created_at=Order.created_at, row_id=Order.id, limit=limit, cursor=cursor
    )


async def event_has_paid_lines(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Whether any order of the event has a line with a price and money that moved or may still
    move: such an event keeps its history (seed 004). Free orders do not count, nor abandoned
    ones (expired or failed before any charge), or no event with a lost cart could be deleted."""
    found = await uow.session.scalar(
        select(
            exists().where(
                OrderLine.order_id == Order.id,
                Order.event_id == event_id,
                OrderLine.unit_price > 0,
                or_(
                    Order.status.in_(_MONEY_MAY_MOVE),
                    # A late payment, refunded or still owed: the books have its history.
                    Order.refund_due,
                    Order.refund_reference.is_not(None),
                ),
            )
        )
    )
    return bool(found)


_MONEY_MAY_MOVE = (
    OrderStatus.PENDING.value,
    OrderStatus.PAID.value,
    OrderStatus.REFUNDING.value,
    OrderStatus.REFUNDED.value,
)


async def due_for_expiry(uow: UnitOfWork, *, limit: int) -> list[uuid.UUID]:
    rows = await uow.session.scalars(
        select(Order.id)
        .where(Order.status == OrderStatus.PENDING.value, Order.expires_at <= uow.clock.now())
        .order_by(Order.expires_at)
        .limit(limit)
    )
    return list(rows)


async def due_for_refund(uow: UnitOfWork, *, limit: int) -> list[uuid.UUID]:
    rows = await uow.session.scalars(
        select(Order.id).where(Order.refund_due).order_by(Order.updated_at).limit(limit)
    )
    return list(rows)
