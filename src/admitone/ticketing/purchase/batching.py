"""Purchases in group commits (``core.group_commit``): the path an on-sale takes.

The purchases in flight share their transactions: one batch settles the orders whose payment
came back (``settle.pay_orders``) and reserves the new ones (``reserve.reserve_orders``), the
very steps a purchase alone takes as a batch of one. The event's counter row, which every buyer
of an on-sale needs, is then locked once per batch instead of once per buyer, and each table
gets one INSERT per batch.

What a batch cannot do for everyone is handed back, and that purchase takes the steps alone
(``flow``), so every rule and error code stays where it was: a refusal to explain, a replay, a
second order of one buyer, a payment that did not simply succeed, an order that does not fit in
what is left after the orders before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog

from admitone.config import Settings
from admitone.core.actor import Actor, current_actor
from admitone.core.db import OpenUnitOfWork
from admitone.core.errors import DomainError
from admitone.core.group_commit import GroupCommit
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import repository
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.purchase import flow, pay
from admitone.ticketing.purchase.request import PurchaseRequest, PurchaseResult
from admitone.ticketing.purchase.reserve import Collision, Placed, Reserving, reserve_orders
from admitone.ticketing.purchase.settle import Paying, PaymentOutcome, pay_orders

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Settling:
    order: Order
    outcome: PaymentOutcome
    actor: Actor


class _HandBack(Exception):
    """The batch's transaction cannot stand (a unique index or a counter refused it): it rolls
    back and runs once more without the purchases that meet an order already there, which are
    done alone; refused again, every purchase in it is done alone."""


_Item = Reserving | _Settling
_Answer = Placed | Order | None


class PurchaseGroups:
    """The group commit of one process's purchases. One transaction serves both ends: the
    settlements of orders whose payment came back and the reservations of new ones, so each
    batch pays its fixed costs (the transaction, the activity savepoint, the snapshot) once."""

    def __init__(self, open_uow: OpenUnitOfWork, settings: Settings) -> None:
        self._open_uow = open_uow
        self._settings = settings
        self._group = GroupCommit[_Item, _Answer]("ticketing.purchases", self._run)

    async def purchase(self, gateway: PaymentGateway, request: PurchaseRequest) -> PurchaseResult:
        """``flow.purchase``, grouped with the purchases in flight. The caller holds no
        transaction open: the batches run in their own (on SQLite, one would hold the write
        lock they wait for), and none may stay open across the gateway call."""
        if request.cart is not None or request.coupon_code is not None:
            # Carts and coupons are rare next to plain tickets in an on-sale: such a purchase
            # takes the steps alone, and the batches of the hot path stay as they were. Product
            # lines (a shirt or parking with each ticket) ride in the batches: a line short of
            # stock refuses the batch's transaction, like seats taken since the event was read,
            # and each of its purchases is then placed alone, where the refusal is its own.
            return await flow.purchase(self._open_uow, gateway, self._settings, request)
        actor = current_actor()
        placed = await self._group.submit(Reserving(request, gateway.name, actor))
        if not isinstance(placed, Placed):
            return await flow.purchase(self._open_uow, gateway, self._settings, request)
        order = placed.order
        if order.status != OrderStatus.PENDING:
            return PurchaseResult(order, True, placed.access_token)  # free: paid on the spot
        outcome = await pay.charge_order(self._open_uow, gateway, request, order)
        settled = None
        if outcome.status == "succeeded":
            settled = await self._group.submit(_Settling(order, outcome, actor))
        if not isinstance(settled, Order):
            settled = await flow.settle_payment(
                self._open_uow,
                gateway,
                self._settings,
                order.id,
                outcome,
                access_token=placed.access_token,
            )
        return PurchaseResult(settled, True, placed.access_token, outcome.client_secret)

    async def _run(self, items: Sequence[_Item]) -> list[_Answer]:
        try:
            return await self._attempt(items)
        except _HandBack:
            pass
        # Once more without the purchases that meet an order already there: clients retry in
        # an on-sale, and one retry must not send the whole batch, settlements included, down
        # the path that takes the counter lock once per purchase. (Looking for them before
        # every batch instead made a rush without retries slower.)
        placing = [item for item in items if isinstance(item, Reserving)]
        try:
            async with self._open_uow() as uow:
                clashing = await repository.clashing_requests(
                    uow,
                    [
                        (
                            buyer_key(item.request.buyer_user_id, item.request.customer_email),
                            item.request.event_id,
                            item.request.idempotency_key,
                        )
                        for item in placing
                    ],
                )
        except Exception:
            log.exception("group_commit_clashes_unknown")
            return [None] * len(items)
        clashing_ids = {id(placing[index]) for index in clashing}
        retry = [item for item in items if id(item) not in clashing_ids]
        if not retry:
            return [None] * len(items)
        try:
            answers = await self._attempt(retry)
        except _HandBack:
            return [None] * len(items)
        return _in_order(items, zip(retry, answers, strict=True))

    async def _attempt(self, items: Sequence[_Item]) -> list[_Answer]:
        settling = [item for item in items if isinstance(item, _Settling)]
        placing = [item for item in items if isinstance(item, Reserving)]
        answers: list[_Answer] | None = None
        try:
            async with self._open_uow() as uow:
                # Settlements first: the counters the reservations take last are the hot rows.
                settled = (
                    await pay_orders(
                        uow,
                        self._settings,
                        [Paying(item.order, item.outcome, item.actor) for item in settling],
                    )
                    if settling
                    else []
                )
                try:
                    reserved = await reserve_orders(uow, self._settings, placing) if placing else []
                except (Collision, DomainError) as exc:
                    # A replay or a buyer's pending order from before met a unique index, or
                    # the seats were taken by another process since the event was read.
                    raise _HandBack() from exc
                # A refusal is explained alone, where a replay still finds its order.
                placed = [answer if isinstance(answer, Placed) else None for answer in reserved]
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

    async def _committed(self, answers: Sequence[_Answer]) -> bool:
        """Whether the batch that gave ``answers`` committed: all of it or none did, so one of
        its orders tells."""
        witness = next((answer for answer in answers if answer is not None), None)
        if witness is None:
            return False
        order = witness.order if isinstance(witness, Placed) else witness
        try:
            async with self._open_uow() as uow:
                status = await repository.status_of(uow, order.id)
        except Exception:
            log.exception("group_commit_unverifiable")
            return False
        return status == order.status


def _in_order(items: Sequence[_Item], *answered: Iterable[tuple[_Item, _Answer]]) -> list[_Answer]:
    by_item = {id(item): answer for pairs in answered for item, answer in pairs}
    return [by_item.get(id(item)) for item in items]
