"""Cancel: a pending order lets go of its seats; a paid one is refunded in full, exactly once."""

from __future__ import annotations

import asyncio

import httpx

from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from tests.support.reads import counters
from tests.support.users import Signed
from tests.ticketing.conftest import buy, load_order, make_event, order_body, ticket_count


async def test_cancelling_a_pending_order_returns_its_seats(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(3))).json()

    response = await client.post(
        f"/api/orders/{order['id']}/cancel",
        params={"token": order["access_token"]},
        json={"reason": "changed my mind"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert (await counters(runtime, event.id)).event == 0
    assert gateway.refunds == []


async def test_cancelling_a_paid_order_refunds_it_and_voids_the_tickets(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2), headers=buyer.headers)).json()

    response = await client.post(
        f"/api/orders/{order['id']}/cancel", json={"reason": "ill"}, headers=buyer.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"
    assert {t["status"] for t in response.json()["tickets"]} == {"void"}
    assert await ticket_count(runtime, order["id"], "valid") == 0
    assert (await counters(runtime, event.id)).event == 0
    assert gateway.net_captured() == 0 and len(gateway.refunds) == 1


async def test_a_second_cancel_is_a_clear_409(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(1), headers=buyer.headers)).json()
    url = f"/api/orders/{order['id']}/cancel"
    assert (await client.post(url, headers=buyer.headers)).status_code == 200

    again = await client.post(url, headers=buyer.headers)

    assert again.status_code == 409
    assert again.json()["error"] == "order_not_cancellable"
    assert again.json()["details"]["status"] == "refunded"


async def test_racing_cancels_refund_exactly_once(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2), headers=buyer.headers)).json()
    url = f"/api/orders/{order['id']}/cancel"

    responses = await asyncio.gather(*(client.post(url, headers=buyer.headers) for _ in range(5)))

    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and set(codes) <= {200, 409}
    assert len(gateway.refunds) == 1 and gateway.net_captured() == 0
    assert (await load_order(runtime, order["id"])).status == "refunded"
    assert (await counters(runtime, event.id)).event == 0  # released once, not five times


async def test_a_refund_that_fails_stays_due_and_the_job_finishes_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer,
    *,
    buyer: Signed,
    gateway: FakeGateway,
    clock,
) -> None:

    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2), headers=buyer.headers)).json()
    gateway.set_failure_mode("unavailable")

    response = await client.post(f"/api/orders/{order['id']}/cancel", headers=buyer.headers)

    assert response.status_code == 503 and response.json()["error"] == "refund_failed"
    stuck = await load_order(runtime, order["id"])
    assert stuck.status == "refunding" and stuck.refund_due
    assert await ticket_count(runtime, order["id"], "valid") == 0
    gateway.set_failure_mode(None)
    clock.advance(minutes=1)
    await drain(runtime)
    clock.advance(minutes=1)
    await drain(runtime)
    assert (await load_order(runtime, order["id"])).status == "refunded"
    assert len(gateway.refunds) == 1 and gateway.net_captured() == 0


async def test_someone_elses_order_cannot_be_cancelled(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(1))).json()  # a guest's
    response = await client.post(f"/api/orders/{order['id']}/cancel", headers=buyer.headers)
    assert response.status_code == 404
    assert (await load_order(runtime, order["id"])).status == "paid"


async def test_cancelling_a_free_order_voids_its_tickets_and_returns_its_seats(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer, tiers=[("Free", "0", 10)])
    order = (await buy(client, event.id, order_body(2))).json()
    assert order["status"] == "paid"

    response = await client.post(
        f"/api/orders/{order['id']}/cancel",
        params={"token": order["access_token"]},
        json={"reason": "cannot come"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert (await counters(runtime, event.id)).event == 0
    assert await ticket_count(runtime, order["id"]) == 0
    assert gateway.charges == [] and gateway.refunds == []
