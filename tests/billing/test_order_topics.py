"""Live topics of orders' money: ``billing:transactions`` carries each payment and refund of an
order to staff, its buyer and its event's organizer; ``billing:orders`` also reaches the
organizer when an order of their event is paid, cancelled or refunded. Sent after commit, with
ids, statuses and amounts only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from admitone.realtime.errors import TopicForbidden
from admitone.realtime.topics import registry
from admitone.runtime import Runtime
from tests.billing.conftest import BUYER_EMAIL, BUYER_NAME, Shop, buy, cancel, refund_part

Published = list[tuple[str, dict[str, Any]]]


def sent(published: Published, topic: str) -> list[tuple[str, dict[str, Any]]]:
    return [(m["type"], m["payload"]) for t, m in published if t == topic]


async def test_a_payment_reaches_staff_the_buyer_and_the_organizer_as_a_negative_amount(
    client: httpx.AsyncClient, shop: Shop, published: Published
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)

    expected = {
        "order_id": order["id"],
        "event_id": str(shop.event.id),
        "status": "paid",
        "currency": order["currency"],
        "transaction_id": None,
        "amount": -10_000,
    }
    for topic in (
        "billing:transactions",
        f"billing:transactions:user:{shop.buyer.id}",
        f"billing:transactions:user:{shop.organizer.id}",
    ):
        assert sent(published, topic) == [("payment", expected)]
    organizers = sent(published, f"billing:orders:user:{shop.organizer.id}")
    assert [(kind, body["order_id"], body["status"]) for kind, body in organizers] == [
        ("order_paid", order["id"], "paid")
    ]
    assert sent(published, f"billing:transactions:user:{shop.stranger.id}") == []


async def test_a_cancel_and_refunds_full_or_partial_carry_the_ledgers_refund(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, published: Published
) -> None:
    cancelled = await buy(client, shop.event.id, shop.buyer.headers)
    kept = await buy(client, shop.event.id, shop.buyer.headers)
    published.clear()
    await cancel(client, cancelled["id"], shop.buyer.headers)
    await refund_part(runtime, kept["id"], 2_500, "re_part_topics")

    organizer_orders = sent(published, f"billing:orders:user:{shop.organizer.id}")
    assert [(kind, body["order_id"]) for kind, body in organizer_orders] == [
        ("order_cancelled", cancelled["id"]),
        ("order_refunded", cancelled["id"]),
        ("order_partially_refunded", kept["id"]),
    ]
    refunds = sent(published, f"billing:transactions:user:{shop.buyer.id}")
    assert [(kind, body["order_id"], body["amount"]) for kind, body in refunds] == [
        ("refund", cancelled["id"], 10_000),
        ("refund", kept["id"], 2_500),
    ]
    assert refunds == sent(published, "billing:transactions")
    assert refunds == sent(published, f"billing:transactions:user:{shop.organizer.id}")
    # The message names the very item of the buyer's statement.
    statement = (await client.get("/api/me/transactions", headers=shop.buyer.headers)).json()
    statement_refunds = {i["id"] for i in statement["data"] if i["kind"] == "refund"}
    assert {body["transaction_id"] for _, body in refunds} == statement_refunds


async def test_a_guests_payment_reaches_staff_and_the_organizer_and_no_message_names_a_person(
    client: httpx.AsyncClient, shop: Shop, published: Published
) -> None:
    order = await buy(client, shop.event.id)
    await cancel_as_guest(client, order)

    topics = {t for t, _ in published if t.startswith("billing:transactions")}
    assert topics == {"billing:transactions", f"billing:transactions:user:{shop.organizer.id}"}
    for _, message in published:
        dumped = json.dumps(message)
        assert BUYER_EMAIL not in dumped and BUYER_NAME not in dumped


async def cancel_as_guest(client: httpx.AsyncClient, order: dict[str, Any]) -> None:
    response = await client.post(
        f"/api/orders/{order['id']}/cancel", json={}, params={"token": order["access_token"]}
    )
    assert response.status_code == 200, response.text


async def test_a_users_transactions_topic_is_theirs_and_staffs_only(
    runtime: Runtime, shop: Shop
) -> None:
    buyers = f"billing:transactions:user:{shop.buyer.id}"
    async with runtime.unit_of_work(readonly=True) as uow:
        for reader in (shop.buyer, shop.admin):
            assert await registry.authorize(uow, reader.actor, [buyers]) == [buyers]
        assert await registry.authorize(uow, shop.admin.actor, ["billing:transactions"])
        for stranger in (shop.stranger, shop.organizer):
            with pytest.raises(TopicForbidden):
                await registry.authorize(uow, stranger.actor, [buyers])
        with pytest.raises(TopicForbidden):
            await registry.authorize(uow, shop.buyer.actor, ["billing:transactions"])
