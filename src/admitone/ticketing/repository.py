"""The SQL of ticketing. Everything a buyer can reach is scoped by owner in the query itself
(rule 8): another buyer's order is simply not found. Writes that are one statement (the paid
columns of a batch, a payment reference, a refund owed) live here too; an order's status changes
are ``transitions``'."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from admitone.core.db import UnitOfWork
from admitone.core.ids import sha256_hex
from admitone.core.pagination import Page, paginate
from admitone.ticketing.errors import OrderNotFound
from admitone.ticketing.models import (
    REVENUE_STATUSES,
    Order,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketStatus,
)


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


def order_ids_of_buyer(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of a buyer's orders as a subquery, for a domain above that reads what it keeps
    about them (billing's statement of the ledger) scoped by owner in its own query."""
    return select(Order.id).where(Order.buyer_user_id == user_id)


async def list_for_event(
    uow: UnitOfWork, event_id: uuid.UUID, *, limit: int | None, cursor: str | None
) -> Page[Order]:
    stmt = _fresh(select(Order).where(Order.event_id == event_id), lines=True, tickets=False)
    return await paginate(
        uow.session, stmt, created_at=Order.created_at, row_id=Order.id, limit=limit, cursor=cursor
    )


async def event_has_paid_lines(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Whether any order of the event has a line with a price and money that moved or may still
    move: such an event keeps its history. Free orders do not count, nor abandoned
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


async def transition(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    expected: Collection[OrderStatus],
    to: OrderStatus,
    *,
    where: ColumnElement[bool] | None = None,
    **values: Any,
) -> bool:
    """Move the order to ``to`` if it is in one of ``expected`` (and ``where`` holds); True if
    this call did. Under concurrency exactly one caller wins it: under PostgreSQL READ
    COMMITTED the loser waits for the winner's row lock, re-reads the row and matches nothing;
    SQLite has one writer."""
    stmt = (
        update(Order)
        .where(Order.id == order_id, Order.status.in_([s.value for s in expected]))
        .values(**{"status": to.value, "updated_at": uow.clock.now(), **values})
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    if where is not None:
        stmt = stmt.where(where)
    return await uow.session.scalar(stmt) is not None


async def void_tickets(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(Ticket)
        .where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID.value)
        .values(status=TicketStatus.VOID.value, voided_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )


async def lock_if_paid(uow: UnitOfWork, order_id: uuid.UUID) -> bool:
    """Hold a paid order's row until this transaction ends (a no-op UPDATE takes the lock on
    both backends), so that no cancel or refund can move it while something is written about
    it as paid. False, and nothing held, when it is not paid."""
    done = await uow.session.scalar(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.PAID.value)
        .values(status=Order.status)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return done is not None


async def status_of(uow: UnitOfWork, order_id: uuid.UUID) -> str | None:
    return await uow.session.scalar(select(Order.status).where(Order.id == order_id))


async def add_orders(
    uow: UnitOfWork, orders: Sequence[Order], *, collision: type[Exception]
) -> None:
    """Insert new orders (one INSERT per table); ``collision`` is raised when a unique index
    refuses one."""
    uow.session.add_all(orders)
    try:
        await uow.flush()
    except IntegrityError as exc:
        raise collision() from exc


async def clashing_requests(
    uow: UnitOfWork, requests: Sequence[tuple[str, uuid.UUID, str | None]]
) -> set[int]:
    """The index of each request (buyer key, event, idempotency key) that an order already there
    refuses (the unique indexes of ``Order``): a replay of an idempotency key, or a buyer's
    second pending order."""
    idempotency_keys = {key for _, _, key in requests} - {None}
    rows = (
        await uow.session.execute(
            select(Order.buyer_key, Order.event_id, Order.idempotency_key, Order.status).where(
                Order.buyer_key.in_({buyer for buyer, _, _ in requests}),
                or_(
                    Order.status == OrderStatus.PENDING.value,
                    Order.idempotency_key.in_(idempotency_keys),
                ),
            )
        )
    ).all()
    replays = {(row.buyer_key, row.idempotency_key) for row in rows if row.idempotency_key}
    pending = {
        (row.buyer_key, row.event_id) for row in rows if row.status == OrderStatus.PENDING.value
    }
    return {
        index
        for index, (buyer, event_id, key) in enumerate(requests)
        if (buyer, key) in replays or (buyer, event_id) in pending
    }


def paid_columns(now: datetime) -> dict[str, Any]:
    """The columns every ``pending`` -> ``paid`` transition sets alike."""
    return {"status": OrderStatus.PAID.value, "updated_at": now, "paid_at": now}


_ORDERS = cast(Table, Order.__table__)


async def mark_paid(
    uow: UnitOfWork, orders: Mapping[uuid.UUID, Mapping[str, Any]], now: datetime
) -> set[uuid.UUID]:
    """``pending`` -> ``paid`` for ``orders`` (each with its own columns: payment reference and
    method, token hash); answers those still pending, which this call paid. One order is one
    UPDATE; a batch is one conditional UPDATE and one statement for its own columns."""
    if len(orders) == 1:
        [(order_id, columns)] = orders.items()
        won = await uow.session.scalar(
            update(Order)
            .where(Order.id == order_id, Order.status == OrderStatus.PENDING.value)
            .values(**paid_columns(now), **columns)
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
        return {won} if won is not None else set()
    won_ids = set(
        await uow.session.scalars(
            update(Order)
            .where(Order.id.in_(list(orders)), Order.status == OrderStatus.PENDING.value)
            .values(**paid_columns(now))
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    )
    if won_ids:
        names = sorted(next(iter(orders.values())))
        await uow.session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in names}),
            [
                {"b_id": order_id, **{f"b_{name}": columns[name] for name in names}}
                for order_id, columns in orders.items()
                if order_id in won_ids
            ],
        )
    return won_ids


async def wait_for_payment(uow: UnitOfWork, order_id: uuid.UUID, charge_id: str | None) -> None:
    """A pending order waits for its payment intent: kept as its payment reference, so that the
    buyer can confirm it (``pay``) and expiry can cancel it."""
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.PENDING.value)
        .values(payment_reference=charge_id, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )


async def owe_refund(uow: UnitOfWork, order_id: uuid.UUID, *, charge_id: str | None) -> None:
    """The order owes its buyer a refund (of ``charge_id``, when known)."""
    values: dict[str, object] = {"refund_due": True, "updated_at": uow.clock.now()}
    if charge_id is not None:
        values["payment_reference"] = charge_id
    await uow.session.execute(
        update(Order)
        # A paid order (a webhook won the race with a failing settlement) keeps its money.
        .where(
            Order.id == order_id,
            Order.refund_reference.is_(None),
            Order.status != OrderStatus.PAID.value,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def clear_refund_due(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.refund_due)
        .values(refund_due=False, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )


async def settle_refund(
    uow: UnitOfWork, order_id: uuid.UUID, *, charge_id: str, refund_id: str
) -> bool:
    """The refund the order owed is made; True for the one caller that recorded it."""
    now = uow.clock.now()
    won = await uow.session.scalar(
        update(Order)
        .where(Order.id == order_id, Order.refund_due)
        .values(
            refund_due=False,
            refund_reference=refund_id,
            payment_reference=func.coalesce(Order.payment_reference, charge_id),
            refunded_at=now,
            updated_at=now,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return won is not None


async def add_refunded(uow: UnitOfWork, order_id: uuid.UUID, amount: int) -> None:
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(refunded_amount=Order.refunded_amount + amount)
        .execution_options(synchronize_session=False)
    )


async def owe_refund_of(uow: UnitOfWork, order_id: uuid.UUID, charge_id: str) -> None:
    """The order owes the refund of ``charge_id``, unless a refund is recorded already."""
    await uow.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.refund_reference.is_(None))
        .values(
            refund_due=True,
            payment_reference=func.coalesce(Order.payment_reference, charge_id),
            updated_at=uow.clock.now(),
        )
        .execution_options(synchronize_session=False)
    )


async def hold_paid_by(uow: UnitOfWork, order_id: uuid.UUID, charge_id: str) -> bool:
    """Lock the order's row if ``charge_id`` paid it and it still holds its revenue, so two
    refunds of one order are counted one after the other."""
    held = await uow.session.scalar(
        update(Order)
        .where(
            Order.id == order_id,
            Order.status.in_([status.value for status in REVENUE_STATUSES]),
            Order.payment_reference == charge_id,
        )
        .values(updated_at=uow.clock.now())
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return held is not None


async def owe_payment_back(uow: UnitOfWork, order_id: uuid.UUID, charge_id: str) -> bool:
    """The order owes back a payment it was not settled by (and keeps no revenue); True for
    the one caller that found it owed first."""
    won = await uow.session.scalar(
        update(Order)
        .where(
            Order.id == order_id,
            Order.refund_due.is_(False),
            Order.refund_reference.is_(None),
            Order.status.not_in([status.value for status in REVENUE_STATUSES]),
            func.coalesce(Order.payment_reference, charge_id) == charge_id,
        )
        .values(refund_due=True, payment_reference=charge_id, updated_at=uow.clock.now())
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return won is not None


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
