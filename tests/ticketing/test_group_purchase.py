"""Purchases in flight together share their transactions (group commit), and whatever a batch
cannot do for everyone is done alone with the usual answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from admitone.activity.models import ActivityEntry
from admitone.core.actor import Actor, acting_as
from admitone.core.db import UnitOfWork
from admitone.ledger.chart import EntryKind
from admitone.ledger.models import JournalEntry
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing.expiry import EXPIRE_ORDER_JOB
from admitone.ticketing.purchase import batching, flow, reserve
from admitone.ticketing.purchase import settle as settle_step
from admitone.ticketing.purchase.batching import PurchaseGroups
from admitone.ticketing.purchase.confirm import CONFIRMATION_JOB
from admitone.ticketing.purchase.request import PurchaseRequest, PurchaseResult
from tests.support.reads import counters, jobs_of
from tests.support.users import Signed
from tests.ticketing.conftest import buy, make_event, order_body, orders_of, ticket_count


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The size of every batch placed and settled."""
    sizes: dict[str, list[int]] = {"place": [], "settle": []}
    place, settle = reserve.reserve_orders, settle_step.pay_orders

    async def placing(uow: Any, settings: Any, items: Sequence[Any], *rest: Any) -> Any:
        sizes["place"].append(len(items))
        return await place(uow, settings, items, *rest)

    async def settling(uow: Any, settings: Any, items: Sequence[Any], *rest: Any) -> Any:
        sizes["settle"].append(len(items))
        return await settle(uow, settings, items, *rest)

    monkeypatch.setattr(batching, "reserve_orders", placing)
    monkeypatch.setattr(batching, "pay_orders", settling)
    return sizes


@pytest.fixture
def gone_alone(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The buyer of every purchase done alone rather than by a batch."""
    emails: list[str] = []
    purchase = flow.purchase

    async def purchasing(open_uow: Any, gateway: Any, settings: Any, request: Any) -> Any:
        emails.append(request.customer_email)
        return await purchase(open_uow, gateway, settings, request)

    monkeypatch.setattr(flow, "purchase", purchasing)
    return emails


def guest(n: int, quantity: int = 1, **options: Any) -> dict[str, Any]:
    return order_body(quantity, email=f"guest{n}@example.com", name=f"Guest {n}", **options)


async def rush(
    client: httpx.AsyncClient, event_id: Any, bodies: Sequence[dict[str, Any]]
) -> list[httpx.Response]:
    return list(await asyncio.gather(*(buy(client, event_id, body) for body in bodies)))


async def count(runtime: Runtime, stmt: Any) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(await uow.session.scalar(stmt) or 0)


async def test_concurrent_purchases_are_placed_and_settled_in_shared_transactions(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Any, batch_sizes: dict[str, list[int]]
) -> None:
    event = await make_event(runtime, organizer)

    responses = await rush(client, event.id, [guest(n, 2) for n in range(8)])

    assert [r.status_code for r in responses] == [201] * 8
    assert {r.json()["status"] for r in responses} == {"paid"}
    assert all(len(r.json()["tickets"]) == 2 for r in responses)
    assert max(batch_sizes["place"]) > 1 and max(batch_sizes["settle"]) > 1
    assert sum(batch_sizes["place"]) == sum(batch_sizes["settle"]) == 8
    # Everything a purchase alone leaves behind, once per order.
    assert (await counters(runtime, event.id)).event == 16
    orders = await orders_of(runtime, event.id)
    assert len(orders) == 8 and all(o.payment_reference for o in orders)
    for order in orders:
        assert await ticket_count(runtime, order.id) == 2
    assert len(await jobs_of(runtime, EXPIRE_ORDER_JOB)) == 8
    assert len(await jobs_of(runtime, CONFIRMATION_JOB)) == 8
    captured = select(func.count()).where(JournalEntry.kind == EntryKind.PAYMENT_CAPTURED.value)
    assert await count(runtime, captured) == 8
    for action in ("ticketing.order_created", "ticketing.order_paid"):
        logged = select(func.count()).where(ActivityEntry.action == action)
        assert await count(runtime, logged) == 8


async def test_a_refused_purchase_in_a_batch_gets_its_own_answer_and_the_rest_go_through(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    batch_sizes: dict[str, list[int]],
    gone_alone: list[str],
) -> None:
    event = await make_event(runtime, organizer)
    bodies = [guest(n) for n in range(5)]
    bodies[2] = guest(2, quantity=11)

    responses = await rush(client, event.id, bodies)

    assert [r.status_code for r in responses] == [201, 201, 422, 201, 201]
    assert responses[2].json()["error"] == "invalid_quantity"
    assert (await counters(runtime, event.id)).event == 4
    assert max(batch_sizes["place"]) > 1  # the refusal shared a batch with the others
    assert gone_alone == ["guest2@example.com"]  # and only it went alone, to be explained


async def test_a_batch_wanting_more_than_is_left_sells_what_fits_and_only_the_rest_go_alone(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    batch_sizes: dict[str, list[int]],
    gone_alone: list[str],
) -> None:
    event = await make_event(runtime, organizer, tiers=[("General admission", "50.00", 5)])

    responses = await rush(client, event.id, [guest(n) for n in range(8)])

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [409] * 3
    assert max(batch_sizes["place"]) > 5  # one batch wanted more than there was
    assert len(gone_alone) == 3  # to be told they are sold out
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"sold_out"}
    state = await counters(runtime, event.id)
    assert state.event == 5 and list(state.tiers.values()) == [5]
    assert len([o for o in await orders_of(runtime, event.id) if o.status == "paid"]) == 5


async def test_replays_racing_in_one_batch_answer_with_one_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    batch_sizes: dict[str, list[int]],
    gone_alone: list[str],
) -> None:
    event = await make_event(runtime, organizer)
    body = guest(1, key="the-same-key")

    responses = await rush(client, event.id, [body, body, guest(2)])

    assert sorted(r.status_code for r in responses) == [200, 201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert len(await orders_of(runtime, event.id)) == 2
    assert (await counters(runtime, event.id)).event == 2
    assert batch_sizes["place"] == [3]
    assert gone_alone == ["guest1@example.com"]  # the second of one buyer, left to meet the first


async def test_a_retry_in_a_batch_goes_alone_and_the_rest_of_the_batch_stays_together(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    batch_sizes: dict[str, list[int]],
    gone_alone: list[str],
) -> None:
    event = await make_event(runtime, organizer)
    first = await buy(client, event.id, guest(1, key="retried"))

    responses = await rush(client, event.id, [guest(2), guest(1, key="retried"), guest(3)])

    assert [r.status_code for r in responses] == [201, 200, 201]
    assert responses[1].json()["id"] == first.json()["id"]
    assert gone_alone == ["guest1@example.com"]
    # The batch met the replay's order, and ran once more without it.
    assert batch_sizes["place"][1:] == [3, 2]
    assert (await counters(runtime, event.id)).event == 3


async def test_a_second_pending_order_in_a_batch_is_refused_alone_and_the_rest_stay_together(
    client: httpx.AsyncClient,
    *,
    runtime: Runtime,
    organizer: Any,
    gateway: FakeGateway,
    batch_sizes: dict[str, list[int]],
    gone_alone: list[str],
) -> None:
    gateway.default_payment_method = None  # orders wait for their payment intent
    event = await make_event(runtime, organizer)
    first = await buy(client, event.id, guest(1, key="first"))

    responses = await rush(client, event.id, [guest(2), guest(1, key="second"), guest(3)])

    assert [r.status_code for r in responses] == [201, 409, 201]
    assert responses[1].json()["error"] == "pending_order_exists"
    assert responses[1].json()["details"]["reference"] == first.json()["reference"]
    assert gone_alone == ["guest1@example.com"]
    assert batch_sizes["place"][1:] == [3, 2]
    assert (await counters(runtime, event.id)).event == 3


async def test_each_order_of_a_batch_is_logged_as_its_own_buyers_action(
    runtime: Runtime,
    organizer: Any,
    buyer: Signed,
    gateway: FakeGateway,
    batch_sizes: dict[str, list[int]],
) -> None:
    event = await make_event(runtime, organizer)
    purchases = PurchaseGroups(runtime.unit_of_work, runtime.settings)

    async def purchase(email: str, user_id: uuid.UUID | None) -> PurchaseResult:
        request = PurchaseRequest(event.id, email, "Buyer", [(None, 1)], buyer_user_id=user_id)
        return await purchases.purchase(gateway, request)

    # Two requests in flight at once, as two different actors (a task copies the context).
    with acting_as(Actor(buyer.user.id, buyer.user.role)):
        signed_in = asyncio.create_task(purchase(buyer.user.email, buyer.user.id))
    guest_task = asyncio.create_task(purchase("guest@example.com", None))
    mine, theirs = (await signed_in).order.id, (await guest_task).order.id

    assert batch_sizes == {"place": [2], "settle": [2]}
    async with runtime.unit_of_work(readonly=True) as uow:
        entries = await uow.session.scalars(
            select(ActivityEntry).where(ActivityEntry.resource_type == "order")
        )
        actors = {(e.resource_uuid, e.action): (e.actor_uuid, e.actor_role) for e in entries}
    for action in ("ticketing.order_created", "ticketing.order_paid", "billing.payment_captured"):
        assert actors[(mine, action)] == (buyer.user.id, buyer.user.role)
        assert actors[(theirs, action)] == (None, "anonymous")


@pytest.mark.parametrize("step", ["reserve_orders", "pay_orders"])
async def test_a_batch_that_fails_hands_its_purchases_back_and_each_completes_alone(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    calls: list[object] = []

    async def broken(*args: object) -> None:
        calls.append(args)
        raise ConnectionError("the batch's connection broke")

    monkeypatch.setattr(batching, step, broken)
    event = await make_event(runtime, organizer)

    responses = await rush(client, event.id, [guest(n) for n in range(4)])

    assert [r.status_code for r in responses] == [201] * 4
    assert {r.json()["status"] for r in responses} == {"paid"}
    assert (await counters(runtime, event.id)).event == 4
    assert len(await jobs_of(runtime, CONFIRMATION_JOB)) == 4
    assert calls  # the broken step was reached


async def test_a_batch_whose_commit_answer_is_lost_completes_its_purchases_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @asynccontextmanager
    async def commit_then_lose_the_answer() -> AsyncIterator[UnitOfWork]:
        async with runtime.unit_of_work() as uow:
            yield uow
            wrote = bool(uow.session.identity_map)  # a batch, not the look-up that follows
        if wrote:
            raise ConnectionResetError("the connection dropped before COMMIT was answered")

    monkeypatch.setattr(
        app.state, "purchases", PurchaseGroups(commit_then_lose_the_answer, runtime.settings)
    )
    event = await make_event(runtime, organizer)

    responses = await rush(client, event.id, [guest(n) for n in range(3)])

    # Handed back, each would have met its own committed order: 409 pending_order_exists.
    assert [r.status_code for r in responses] == [201] * 3
    assert {r.json()["status"] for r in responses} == {"paid"}
    orders = await orders_of(runtime, event.id)
    assert len(orders) == 3 and {o.status for o in orders} == {"paid"}
    assert (await counters(runtime, event.id)).event == 3


async def test_a_signed_in_buyers_purchase_is_placed_by_a_batch_not_alone(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Any,
    buyer: Signed,
    gone_alone: list[str],
) -> None:
    # Signing in reads the user in the request's own transaction. Held open, on SQLite it kept
    # the write lock the batch waited for until the busy timeout, and the purchase went alone.
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(1), headers=buyer.headers)

    assert response.status_code == 201
    assert gone_alone == []
