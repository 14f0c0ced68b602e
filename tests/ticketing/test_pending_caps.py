"""Seat hoarding: one client address may leave only so many orders (and seats) of an event
waiting for payment, however many emails it makes up; orders paid at once do not count."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from admitone.accounts.models import User
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from tests.conftest import make_client
from tests.payments.fake_stripe import WEBHOOK_SECRET
from tests.payments.webhook_support import buyer_confirms, intent_event, post_webhook
from tests.support.reads import counters
from tests.ticketing.conftest import buy, make_event, order_body

MAX_ORDERS = 2
MAX_SEATS = 5
NEEDS_ACTION = "pm_card_threeDSecure2Required"  # the order waits for the buyer to confirm


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_pending_orders_per_address": MAX_ORDERS,
            "max_pending_seats_per_address": MAX_SEATS,
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )


def held(n: int, quantity: int = 1) -> dict[str, Any]:
    return order_body(quantity, email=f"made-up-{n}@example.com", payment_method=NEEDS_ACTION)


async def test_an_address_rotating_emails_holds_no_more_than_its_pending_orders(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, organizer: User
) -> None:
    event = await make_event(runtime, organizer)
    for n in range(MAX_ORDERS):
        placed = await buy(client, event.id, held(n))
        assert placed.status_code == 201 and placed.json()["status"] == "pending", placed.text
    refused = await buy(client, event.id, held(99))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_pending_orders"
    assert refused.json()["details"]["cap"] == "orders_per_address"
    assert refused.json()["details"]["limit"] == MAX_ORDERS
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert (await counters(runtime, event.id)).event == MAX_ORDERS  # the refusal held nothing
    async with make_client(app, ip="198.51.100.9") as elsewhere:
        assert (await buy(elsewhere, event.id, held(100))).status_code == 201
    other_event = await make_event(runtime, organizer)
    assert (await buy(client, other_event.id, held(101))).status_code == 201


async def test_an_address_holds_no_more_than_its_pending_seats(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User
) -> None:
    event = await make_event(runtime, organizer)
    assert (await buy(client, event.id, held(1, quantity=3))).status_code == 201
    refused = await buy(client, event.id, held(2, quantity=3))
    assert refused.status_code == 429, refused.text
    assert refused.json()["details"]["cap"] == "seats_per_address"
    assert refused.json()["details"]["limit"] == MAX_SEATS
    assert (await buy(client, event.id, held(3, quantity=2))).status_code == 201


async def test_orders_paid_within_their_purchase_do_not_count(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User
) -> None:
    event = await make_event(runtime, organizer)
    for n in range(MAX_ORDERS + 3):
        body = order_body(1, email=f"buyer-{n}@example.com", payment_method="pm_card_visa")
        bought = await buy(client, event.id, body)
        assert bought.status_code == 201 and bought.json()["status"] == "paid", bought.text
    assert (await buy(client, event.id, held(1))).status_code == 201


async def test_paying_or_cancelling_a_pending_order_frees_its_place(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User
) -> None:
    event = await make_event(runtime, organizer)
    first, second = [(await buy(client, event.id, held(n))).json() for n in range(MAX_ORDERS)]
    assert (await buy(client, event.id, held(10))).status_code == 429

    paid = await client.post(
        f"/api/orders/{first['id']}/pay",
        params={"token": first["access_token"]},
        json={"payment_method": "pm_card_visa"},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert (await buy(client, event.id, held(11))).status_code == 201
    assert (await buy(client, event.id, held(12))).status_code == 429

    cancelled = await client.post(
        f"/api/orders/{second['id']}/cancel", params={"token": second["access_token"]}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await buy(client, event.id, held(13))).status_code == 201


async def test_a_pending_order_stops_counting_when_its_payment_window_closes(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, clock: FrozenClock
) -> None:
    event = await make_event(runtime, organizer)
    for n in range(MAX_ORDERS):
        assert (await buy(client, event.id, held(n))).status_code == 201
    clock.advance(minutes=14, seconds=59)
    assert (await buy(client, event.id, held(10))).status_code == 429
    clock.advance(seconds=1)
    assert (await buy(client, event.id, held(11))).status_code == 201


async def test_one_email_keeps_one_pending_order_per_event(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User
) -> None:
    event = await make_event(runtime, organizer)
    assert (await buy(client, event.id, held(1))).status_code == 201
    again = await buy(client, event.id, held(1))
    assert again.status_code == 409
    assert again.json()["error"] == "pending_order_exists"


async def test_a_pending_order_paid_by_stripes_webhook_frees_its_place(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
) -> None:
    event = await make_event(runtime, organizer)
    first, _ = [(await buy(client, event.id, held(n))).json() for n in range(MAX_ORDERS)]
    assert (await buy(client, event.id, held(10))).status_code == 429

    charge = await buyer_confirms(runtime, gateway, first["id"])
    paid = await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    assert paid.json()["outcome"] == "paid", paid.text
    assert (await buy(client, event.id, held(11))).status_code == 201
