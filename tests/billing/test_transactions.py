"""``GET /api/me/transactions``: a user's money movements read from the ledger, and the credit
notes made out to them, newest first, signed from the user's side, one page at a time; nobody
else's: their orders' and their subscriptions' money alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from admitone.billing import transactions
from admitone.core.clock import FrozenClock
from admitone.ledger.chart import EntryKind
from admitone.runtime import Runtime
from tests.billing.conftest import Shop, ask_invoice, buy, cancel, refund_part
from tests.support.envelope import assert_envelope
from tests.support.subscriptions import SUBSCRIPTIONS, make_plan, subscribe

TRANSACTIONS = "/api/me/transactions"


async def statement(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(TRANSACTIONS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def whole_statement(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await statement(
            client, headers, limit=limit, **({"cursor": cursor} if cursor else {})
        )
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_a_buyer_sees_payments_refunds_and_credit_notes_newest_first_signed_from_their_side(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    first = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, first["id"], shop.buyer.headers)).json()
    clock.advance(minutes=1)
    second = await buy(client, shop.event.id, shop.buyer.headers)
    clock.advance(minutes=1)
    await cancel(client, first["id"], shop.buyer.headers)
    clock.advance(minutes=1)
    assert await refund_part(runtime, second["id"], 3000, "re_part_1") == 3000

    items = (await statement(client, shop.buyer.headers))["data"]
    seen = [(i["kind"], i["amount"], i["references"]["order_id"]) for i in items]
    # The cancel's refund and its credit note share a moment: either may come first.
    assert seen[0] == ("refund", "30.00", second["id"])
    assert sorted(seen[1:3]) == [
        ("credit_note", "100.00", first["id"]),
        ("refund", "100.00", first["id"]),
    ]
    assert seen[3:] == [("payment", "-100.00", second["id"]), ("payment", "-100.00", first["id"])]
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert {i["currency"] for i in items} == {first["currency"]}
    note = next(i for i in items if i["kind"] == "credit_note")
    assert note["references"]["invoice_number"] == "CN-2026-000001"
    paid_first = items[-1]
    assert paid_first["references"] == {
        "order_id": first["id"],
        "invoice_number": invoice["number"],
        "subscription_id": None,
    }
    assert items[3]["references"]["invoice_number"] is None  # never invoiced


async def test_pages_follow_the_cursor_without_a_gap_or_a_repeat(
    client: httpx.AsyncClient, shop: Shop, clock: FrozenClock
) -> None:
    orders = []
    for _ in range(3):
        orders.append(await buy(client, shop.event.id, shop.buyer.headers))
        await ask_invoice(client, orders[-1]["id"], shop.buyer.headers)
    # Two at the same moment: the id breaks the tie the same way on every page.
    await cancel(client, orders[0]["id"], shop.buyer.headers)
    clock.advance(seconds=1)
    await cancel(client, orders[1]["id"], shop.buyer.headers)

    everything = (await statement(client, shop.buyer.headers))["data"]
    assert len(everything) == 3 + 2 * 2
    for size in (1, 2, 3):
        assert await whole_statement(client, shop.buyer.headers, size) == everything


async def test_nobody_sees_someone_elses_money(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    await cancel(client, order["id"], shop.buyer.headers)

    for someone in (shop.stranger, shop.organizer, shop.admin):
        assert await statement(client, someone.headers) == {"data": [], "next_cursor": None}
    # A guest's order is no signed-in user's.
    await buy(client, shop.event.id)
    assert len((await statement(client, shop.buyer.headers))["data"]) == 2
    assert (await client.get(TRANSACTIONS)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
    ],
)
async def test_a_bad_page_request_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, shop: Shop, params: dict[str, Any], field: str
) -> None:
    response = await client.get(TRANSACTIONS, headers=shop.buyer.headers, params=params)
    body = assert_envelope(response, 422, "validation_error")
    assert field in str(body["details"])


async def test_a_subscribers_charges_and_refunds_are_on_their_statement_and_nobody_elses(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id, price=900, currency="USD")
    mine = await subscribe(client, shop.buyer.headers, plan.id)
    theirs = await subscribe(client, shop.stranger.headers, plan.id)
    clock.advance(minutes=1)
    cancelled = await client.post(
        f"{SUBSCRIPTIONS}/{mine['id']}/cancel",
        json={"at_period_end": False, "refund": True},
        headers=shop.organizer.headers,
    )
    assert cancelled.status_code == 200, cancelled.text

    items = (await statement(client, shop.buyer.headers))["data"]
    assert [(i["kind"], i["amount"], i["currency"]) for i in items] == [
        ("subscription_refund", "9.00", "USD"),
        ("subscription_charge", "-9.00", "USD"),
    ]
    for item in items:
        assert item["references"] == {
            "order_id": None,
            "invoice_number": None,
            "subscription_id": mine["id"],
        }
    # The gateway's fee is the organizer's cost, never a line on the subscriber's statement.
    others = (await statement(client, shop.stranger.headers))["data"]
    assert [(i["kind"], i["references"]["subscription_id"]) for i in others] == [
        ("subscription_charge", theirs["id"])
    ]
    for nobody in (shop.organizer, shop.admin):
        assert (await statement(client, nobody.headers))["data"] == []


async def test_orders_and_subscriptions_share_one_statement_and_one_cursor(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id, price=900)
    await buy(client, shop.event.id, shop.buyer.headers)
    clock.advance(minutes=1)
    await subscribe(client, shop.buyer.headers, plan.id)
    clock.advance(minutes=1)
    await buy(client, shop.event.id, shop.buyer.headers)

    everything = (await statement(client, shop.buyer.headers))["data"]
    assert [i["kind"] for i in everything] == ["payment", "subscription_charge", "payment"]
    for size in (1, 2):
        assert await whole_statement(client, shop.buyer.headers, size) == everything


def test_an_entry_kind_is_read_through_one_source_only() -> None:
    kinds = [kind for source in transactions.SOURCES for kind in source.kinds]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) <= set(EntryKind)
