"""Who sees an order: its buyer, a guest with its token, staff, and the event's organizer."""

from __future__ import annotations

import httpx

from admitone.accounts.models import Role
from admitone.runtime import Runtime
from tests.conftest import auth_headers, login
from tests.support.users import Signed
from tests.ticketing.conftest import buy, make_event, order_body


async def test_a_guest_reaches_the_order_by_reference_and_token(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    url = f"/api/orders/by-reference/{order['reference']}"

    found = await client.get(url, params={"token": order["access_token"]})
    lower = await client.get(url.lower(), params={"token": order["access_token"]})
    no_token = await client.get(url)
    bad_token = await client.get(url, params={"token": "not-the-token"})

    assert found.status_code == 200 and found.json()["id"] == order["id"]
    assert lower.status_code == 200
    assert (no_token.status_code, bad_token.status_code) == (404, 404)


async def test_another_users_order_is_a_404(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(1), headers=buyer.headers)).json()
    _, stranger = await auth_headers(client, runtime, Role.CUSTOMER)

    for path in (
        f"/api/orders/{order['id']}",
        f"/api/orders/by-reference/{order['reference']}",
        f"/api/orders/{order['id']}/tickets.pdf",
    ):
        response = await client.get(path, headers=stranger)
        assert response.status_code == 404, path
    mine = await client.get("/api/orders", headers=stranger)
    assert mine.json()["data"] == []


async def test_staff_see_any_order(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(1), headers=buyer.headers)).json()
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    assert (await client.get(f"/api/orders/{order['id']}", headers=admin)).status_code == 200


async def test_the_organizer_lists_the_event_orders_and_nobody_else_does(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(1), headers=buyer.headers)).json()
    tokens = await login(client, organizer.email)
    mine = {"Authorization": f"Bearer {tokens['access_token']}"}
    _, other = await auth_headers(client, runtime, Role.ORGANIZER)

    listed = await client.get(f"/api/events/{event.id}/orders", headers=mine)
    refused = await client.get(f"/api/events/{event.id}/orders", headers=other)

    assert [o["id"] for o in listed.json()["data"]] == [order["id"]]
    assert refused.status_code == 404
    assert (await client.get(f"/api/events/{event.id}/orders")).status_code == 401
