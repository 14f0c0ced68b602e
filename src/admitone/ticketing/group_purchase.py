"""Purchases in group commits (``core.group_commit``): the path an on-sale takes.

A purchase takes the steps of ``checkout.purchase``: reserve and commit, charge with no
transaction open, settle. Here the purchases in flight share their transactions: one batch
settles the orders whose payment came back and reserves the new ones. The event's counter row,
which every buyer of an on-sale needs, is then locked once per batch instead of once per buyer,
and each table gets one INSERT per batch.

A batch does only the plain case. Anything else is handed back, and that purchase runs
``checkout``'s own steps alone, so every rule and error code stays where it was: a refusal to
explain, a replay, a second order of one buyer, a free order, a payment that did not simply
succeed, an order that does not fit in what is left after the orders before it.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import structlog
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.actor import Actor, acting_as, current_actor
from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.errors import DomainError
from admitone.core.group_commit import GroupCommit
from admitone.events import service as events_service
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import checkout, expiry, settlement
from admitone.ticketing.checkout import PurchaseRequest, PurchaseResult
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.settlement import PaymentOutcome
from admitone.ticketing.transitions import announce

log = structlog.get_logger(__name__)

_ORDERS = cast(Table, Order.__table__)


@dataclass(frozen=True, slots=True)
class _Placing:
    request: PurchaseRequest
    gateway_name: str
    actor: Actor  # the batch runs in no request's context: each entry names its own actor


@dataclass(frozen=True, slots=True)
class _Settling:
    order: Order
    outcome: PaymentOutcome
    actor: Actor


class _HandBack(Exception):
    """The batch's transaction cannot stand (a unique index or a counter refused it): it rolls
    back and runs once more without the purchases that meet an order already there, which are
    done alone; refused again, every purchase in it is done alone."""


class PurchaseGroups:
    """The group commit of one process's purchases. One transaction serves both ends: the
    settlements of orders whose payment came back and the reservations of new ones, so each
    batch pays its fixed costs (the transaction, the activity savepoint, the snapshot) once."""

    def __init__(self, open_uow: OpenUnitOfWork, settings: Settings) -> None:
        self._open_uow = open_uow
        self._settings = settings
        self._group = GroupCommit[_Placing | _Settling, PurchaseResult | Order](
            "ticketing.purchases", self._run
        )

    async def purchase(
        self, uow: UnitOfWork, gateway: PaymentGateway, request: PurchaseRequest
    ) -> PurchaseResult:
        """``checkout.purchase``, grouped with the purchases in flight. ``uow`` is the caller's:
        what is handed back is done in it."""
        # End what the request read so far (the signed-in user): the batches run in
        # transactions of their own, and on SQLite this one would hold the write lock they wait
        # for. Nor may it stay open across the gateway call.
        await uow.commit()
        actor = current_actor()
        placed = await self._group.submit(_Placing(request, gateway.name, actor))
        if not isinstance(placed, PurchaseResult):
            return await checkout.purchase(uow, gateway, self._settings, request)
        order = placed.order
        outcome = await checkout.charge_order(uow, gateway, request, order)
        settled = None
        if outcome.status == "succeeded":
            settled = await self._group.submit(_Settling(order, outcome, actor))
        if not isinstance(settled, Order):
            settled = await settlement.settle(
                uow, gateway, self._settings, order.id, outcome, access_token=placed.access_token
            )
        return PurchaseResult(settled, True, placed.access_token, outcome.client_secret)

    async def _run(
        self, items: Sequence[_Placing | _Settling]
    ) -> list[PurchaseResult | Order | None]:
        try:
            return await self._attempt(items)
        except _HandBack:
            pass
        # Once more without the purchases that meet an order already there: clients retry in
        # an on-sale, and one retry must not send the whole batch, settlements included, down
        # the path that takes the counter lock once per purchase. (Looking for them before
        # every batch instead cost 10% of the throughput of a rush without retries.)
        placing = [item for item in items if isinstance(item, _Placing)]
        try:
            async with self._open_uow() as uow:
                clashing = await _clashing(uow, placing)
        except Exception:
            log.exception("group_commit_clashes_unknown")
            return [None] * len(items)
        retry = [item for item in items if id(item) not in clashing]
        if not retry:
            return [None] * len(items)
        try:
            answers = await self._attempt(retry)
        except _HandBack:
            return [None] * len(items)
        return _in_order(items, zip(retry, answers, strict=True))

    async def _attempt(
        self, items: Sequence[_Placing | _Settling]
    ) -> list[PurchaseResult | Order | None]:
        settling = [item for item in items if isinstance(item, _Settling)]
        placing = [item for item in items if isinstance(item, _Placing)]
        answers: list[PurchaseResult | Order | None] | None = None
        try:
            async with self._open_uow() as uow:
                # Settlements first: the counters the reservations take last are the hot rows.
                settled = await settle_orders(uow, settling) if settling else []
                placed = await place_orders(uow, self._settings, placing) if placing else []
                answers = _in_order(
                    items, zip(settling, settled, strict=True), zip(placing, placed, strict=True)
                )
        except _HandBack:
            raise
        except Exception:
            # The commit may have gone through with its answer lost on the way back; handing
            # the batch back then would place its orders a second time.
            if answers is None or not await self._committed(answers):
                raise
            log.warning("group_commit_answer_lost", size=len(items))
        return answers

    async def _committed(self, answers: Sequence[PurchaseResult | Order | None]) -> bool:
        """Whether the batch that gave ``answers`` committed: all of it or none did, so one of
        its orders tells."""
        witness = next((answer for answer in answers if answer is not None), None)
        if witness is None:
            return False
        order = witness.order if isinstance(witness, PurchaseResult) else witness
        try:
            async with self._open_uow() as uow:
                status = await uow.session.scalar(select(Order.status).where(Order.id == order.id))
        except Exception:
            log.exception("group_commit_unverifiable")
            return False
        return status == order.status


def _in_order(
    items: Sequence[_Placing | _Settling],
    *answered: Iterable[tuple[_Placing | _Settling, PurchaseResult | Order | None]],
) -> list[PurchaseResult | Order | None]:
    by_item = {id(item): answer for pairs in answered for item, answer in pairs}
    return [by_item.get(id(item)) for item in items]


async def place_orders(
    uow: UnitOfWork, settings: Settings, items: Sequence[_Placing]
) -> list[PurchaseResult | None]:
    """Step 1 for a batch, in the caller's transaction: a ``pending`` order each, the capacity
    of them all taken by one conditional UPDATE per counter."""
    results: list[PurchaseResult | None] = [None] * len(items)
    batch = _NewOrders()
    for index, item in enumerate(items):
        await batch.add(uow, settings, index, item)
    batch.keep_what_fits()
    if not batch.placed:
        return results
    uow.session.add_all([order for _, order, _, _ in batch.placed])
    try:
        await uow.flush()
    except IntegrityError as exc:
        # A replay, or a buyer's pending order from before (see ``PurchaseGroups._run``).
        raise _HandBack() from exc
    for _, order, _, actor in batch.placed:
        with acting_as(actor):
            await announce(uow, order, "created")
    await expiry.schedule_expiry(uow, *(order for _, order, _, _ in batch.placed))
    # As in checkout: the counters last, their row locks held only until the commit.
    await uow.write_buffered()
    try:
        for event_id in sorted(batch.wanted):  # a fixed order across events too (rule 5)
            await events_service.reserve(
                uow, event_id, dict(batch.wanted[event_id]), snapshot=batch.snapshots[event_id]
            )
    except DomainError as exc:
        # Taken by another process since the snapshot was read.
        raise _HandBack() from exc
    for index, order, token, _ in batch.placed:
        set_committed_value(order, "tickets", [])
        results[index] = PurchaseResult(order, True, token)
    return results


async def _clashing(uow: UnitOfWork, items: Sequence[_Placing]) -> set[int]:
    """The ``id`` of each purchase that an order already there refuses (the unique indexes of
    ``Order``): a replay of an idempotency key, or a buyer's second pending order."""
    keys = [buyer_key(item.request.buyer_user_id, item.request.customer_email) for item in items]
    idempotency_keys = {item.request.idempotency_key for item in items} - {None}
    rows = (
        await uow.session.execute(
            select(Order.buyer_key, Order.event_id, Order.idempotency_key, Order.status).where(
                Order.buyer_key.in_(set(keys)),
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
        id(item)
        for key, item in zip(keys, items, strict=True)
        if (key, item.request.idempotency_key) in replays or (key, item.request.event_id) in pending
    }


@dataclass
class _NewOrders:
    snapshots: dict[uuid.UUID, events_service.EventSnapshot | None] = field(default_factory=dict)
    wanted: dict[uuid.UUID, Counter[uuid.UUID]] = field(default_factory=dict)  # what fits
    buyers: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    placed: list[tuple[int, Order, str, Actor]] = field(default_factory=list)

    async def add(self, uow: UnitOfWork, settings: Settings, index: int, item: _Placing) -> None:
        """The order of ``item`` if a batch can place it; otherwise it is left to be done alone:
        refused (alone, it is explained, or answered if it is a replay), free (paid on the spot),
        or a second order of a buyer (who may have only one pending per event)."""
        request = item.request
        key = buyer_key(request.buyer_user_id, request.customer_email)
        if (request.event_id, key) in self.buyers:
            return
        snapshot = await self._snapshot(uow, request.event_id)
        if snapshot is None:
            return
        try:
            wanted = checkout.check_quantities(request.items, settings.max_tickets_per_order)
            lines = checkout.resolve_lines(snapshot, wanted)
            event = await events_service.check_purchasable(
                uow, request.event_id, lines, snapshot=snapshot
            )
        except DomainError:
            return
        digest = checkout.request_digest(request, wanted)
        order, token = checkout.new_order(
            uow,
            settings,
            request,
            event,
            lines,
            key=key,
            digest=digest,
            gateway_name=item.gateway_name,
        )
        if order.total_amount == 0:
            return
        self.buyers.add((request.event_id, key))
        self.placed.append((index, order, token, item.actor))

    async def _snapshot(
        self, uow: UnitOfWork, event_id: uuid.UUID
    ) -> events_service.EventSnapshot | None:
        if event_id not in self.snapshots:
            # Missing or deleted: alone, it is a 404.
            self.snapshots[event_id] = await events_service.load_snapshot(uow, event_id)
        return self.snapshots[event_id]

    def keep_what_fits(self) -> None:
        """Keep, in the order they came, the orders that fit in what is left (as last read).
        The others are left out: alone, each takes what is left then or is told it is sold
        out, while the batch still sells what it can."""
        kept: list[tuple[int, Order, str, Actor]] = []
        wanted: defaultdict[uuid.UUID, Counter[uuid.UUID]] = defaultdict(Counter)
        for one in self.placed:
            order = one[1]
            more = wanted[order.event_id] + Counter(
                {line.tier_id: line.quantity for line in order.lines}
            )
            if _fits(self.snapshots[order.event_id], more):
                wanted[order.event_id] = more
                kept.append(one)
        self.placed = kept
        self.wanted = {event_id: tickets for event_id, tickets in wanted.items() if tickets}


def _fits(snapshot: events_service.EventSnapshot | None, wanted: Counter[uuid.UUID]) -> bool:
    if snapshot is None:
        return False
    total = sum(wanted.values())
    if snapshot.max_attendees is not None and snapshot.taken + total > snapshot.max_attendees:
        return False
    for tier_id, quantity in wanted.items():
        tier = snapshot.tier(tier_id)
        if tier is None or tier.taken + quantity > tier.capacity:
            return False
    return True


async def settle_orders(uow: UnitOfWork, items: Sequence[_Settling]) -> list[Order | None]:
    """Step 3 for a batch of succeeded payments, in the caller's transaction: ``paid``, with
    tickets, ledger postings and confirmation jobs. An order no longer pending is handed back
    (alone, its money is refunded: ``settlement.record_success``)."""
    now = uow.clock.now()
    won = set(
        await uow.session.scalars(
            update(Order)
            .where(
                Order.id.in_([item.order.id for item in items]),
                Order.status == OrderStatus.PENDING.value,
            )
            .values(status=OrderStatus.PAID.value, paid_at=now, updated_at=now)
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    )
    paid = [item for item in items if item.order.id in won]
    if not paid:
        return [None] * len(items)
    await uow.session.execute(
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("b_id"))
        .values(payment_reference=bindparam("b_charge"), payment_method=bindparam("b_method")),
        [
            {
                "b_id": item.order.id,
                "b_charge": item.outcome.charge_id,
                "b_method": item.outcome.payment_method,
            }
            for item in paid
        ],
    )
    for item in paid:
        columns = settlement.paid_columns(now, item.outcome.charge_id, item.outcome.payment_method)
        for name, value in columns.items():
            set_committed_value(item.order, name, value)
    await settlement.complete_paid(
        uow,
        [
            settlement.Paid(
                item.order,
                item.outcome.charge_id,
                item.outcome.amount,
                item.outcome.fee,
                item.actor,
            )
            for item in paid
        ],
        now,
    )
    return [item.order if item.order.id in won else None for item in items]
