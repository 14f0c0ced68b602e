"""Every rule of a purchase has its own error, and a refused purchase leaves nothing behind."""

from __future__ import annotations

import uuid

import httpx
import pytest

from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing.purchase import confirm
from tests.support.reads import counters
from tests.ticketing.conftest import (
    buy,
    emails_for,
    load_order,
    make_event,
    order_body,
    orders_of,
    ticket_count,
)


@pytest.mark.parametrize("quantity", [0, -1, 11])
async def test_a_quantity_out_of_range_is_refused_with_its_field(
    client: httpx.AsyncClient, runtime: Runtime, organizer, quantity: int
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(quantity))

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_quantity"
    assert response.json()["details"]["field"] == "order.quantity"
    assert (await counters(runtime, event.id)).event == 0
    assert await orders_of(runtime, event.id) == []


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("order.customer_name", order_body(2, name="Jo\x00hn")),
        ("order.idempotency_key", order_body(2, key="key\x00")),
    ],
)
async def test_a_nul_character_is_a_422_not_a_database_error(
    client: httpx.AsyncClient, runtime: Runtime, organizer, field: str, body: dict[str, object]
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, body)

    assert response.status_code == 422, response.text
    assert response.json()["details"]["field"] == field
    assert await orders_of(runtime, event.id) == []


async def test_eleven_tickets_across_tiers_are_refused_too(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer, tiers=[("A", "10.00", 50), ("B", "10.00", 50)])
    a, b = event.tier_ids
    response = await buy(client, event.id, order_body(items=[(a, 6), (b, 5)]))
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "order.items"


async def test_a_tier_of_another_event_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    other = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(items=[(other.tier_ids[0], 1)]))

    assert response.status_code == 422
    assert response.json()["error"] == "tier_not_in_event"
    assert (await counters(runtime, other.id)).event == 0


async def test_a_draft_event_cannot_be_bought(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer, publish=False)
    response = await buy(client, event.id)
    assert response.status_code == 404
    assert response.json()["error"] == "event_not_found"


async def test_a_deleted_event_cannot_be_bought(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    async with runtime.unit_of_work() as uow:
        await events_service.delete_event(uow, Actor(organizer.id, organizer.role), event.id)
    response = await buy(client, event.id)
    assert response.status_code == 404


async def test_an_unknown_event_is_a_404(client: httpx.AsyncClient) -> None:
    response = await buy(client, uuid.uuid4())
    assert response.status_code == 404


async def test_sold_out_is_a_409_and_takes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer, tiers=[("GA", "50.00", 3)])
    assert (await buy(client, event.id, order_body(2, email="a@example.com"))).status_code == 201

    response = await buy(client, event.id, order_body(2, email="b@example.com"))

    assert response.status_code == 409
    assert response.json()["error"] == "sold_out"
    assert (await counters(runtime, event.id)).event == 2


async def test_the_event_cap_holds_across_tiers(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(
        runtime, organizer, tiers=[("A", "10.00", 5), ("B", "10.00", 5)], max_attendees=6
    )
    a, b = event.tier_ids
    ok = await buy(client, event.id, order_body(items=[(a, 4)], email="a@example.com"))
    refused = await buy(client, event.id, order_body(items=[(b, 3)], email="b@example.com"))
    assert (ok.status_code, refused.status_code) == (201, 409)
    taken = await counters(runtime, event.id)
    assert taken.event == 4 and taken.tiers == {a: 4, b: 0}


async def test_a_guest_purchase_needs_an_email(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    response = await buy(client, event.id, {"order": {"quantity": 1, "customer_name": "X"}})
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "order.customer_email"


async def test_quantity_and_items_together_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    body = order_body(1)
    body["order"]["items"] = [{"tier_id": str(event.tier_ids[0]), "quantity": 1}]
    assert (await buy(client, event.id, body)).status_code == 422


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
async def test_a_declined_payment_is_a_402_and_the_order_keeps_its_seats_until_it_expires(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer,
    *,
    gateway: FakeGateway,
    clock,
    method: str,
    reason: str,
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2, payment_method=method))

    assert response.status_code == 402
    assert response.json()["error"] == "payment_failed"
    assert response.json()["details"]["reason"] == reason
    [order] = await orders_of(runtime, event.id)
    assert response.json()["details"]["order_id"] == str(order.id)
    assert order.status == "pending" and order.payment_reference is not None
    assert (await counters(runtime, event.id)).event == 2
    assert gateway.net_captured() == 0
    assert await ticket_count(runtime, order.id) == 0
    assert await emails_for(runtime, order.id) == []

    clock.advance(minutes=15)
    await drain(runtime)

    assert (await load_order(runtime, order.id)).status == "expired"
    assert (await counters(runtime, event.id)).event == 0
    [charge] = gateway.charges
    assert charge.failure_reason == "canceled"  # no stale tab can pay it now


async def test_the_seed_failure_mode_declines_every_charge(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    gateway.set_failure_mode("card_declined")
    event = await make_event(runtime, organizer)
    response = await buy(client, event.id)
    assert response.status_code == 402
    assert response.json()["details"]["reason"] == "card_declined"
    assert gateway.net_captured() == 0


async def test_a_timed_out_payment_is_a_402_and_keeps_no_money(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:

    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2, payment_method="pm_card_timeout"))

    assert response.status_code == 402
    assert response.json()["details"]["reason"] == "timeout"
    assert (await counters(runtime, event.id)).event == 0
    [order] = await orders_of(runtime, event.id)
    assert order.status == "failed" and order.refund_due  # to be reconciled
    clock.advance(minutes=6)
    await drain(runtime)
    [order] = await orders_of(runtime, event.id)
    assert not order.refund_due and order.refund_reference is None
    assert gateway.net_captured() == 0 and gateway.refunds == []


async def test_an_order_failed_by_a_lost_confirmation_has_its_payment_intent_cancelled(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()

    response = await client.post(
        f"/api/orders/{order['id']}/pay",
        params={"token": order["access_token"]},
        json={"payment_method": "pm_card_timeout"},
    )
    assert response.status_code == 402 and response.json()["details"]["reason"] == "timeout"
    await drain(runtime)

    assert (await load_order(runtime, order["id"])).status == "failed"
    [charge] = gateway.charges
    assert charge.failure_reason == "canceled"  # the buyer's browser can no longer pay it
    clock.advance(minutes=6)
    await drain(runtime)
    assert gateway.net_captured() == 0 and gateway.refunds == []


async def test_a_charge_whose_answer_was_lost_is_found_and_refunded(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:

    event = await make_event(runtime, organizer)
    response = await buy(
        client, event.id, order_body(2, payment_method="pm_card_timeoutAfterCharge")
    )
    assert response.status_code == 402
    assert len(gateway.succeeded_charges()) == 1  # the money did move

    clock.advance(minutes=6)
    await drain(runtime)

    [order] = await orders_of(runtime, event.id)
    assert order.status == "failed" and order.refund_reference is not None
    assert gateway.net_captured() == 0 and len(gateway.refunds) == 1


async def test_a_failing_confirmation_enqueue_fails_the_order_and_refunds_the_charge(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the job table is unreachable")

    monkeypatch.setattr(confirm, "schedule_confirmation", broken)
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2))

    assert response.status_code == 503
    assert response.json()["error"] == "order_not_completed"
    assert response.json()["details"]["refunded"] is True
    [order] = await orders_of(runtime, event.id)
    assert (order.status, order.failure_reason) == ("failed", "settlement_failed")
    assert await ticket_count(runtime, order.id) == 0  # never paid without its email
    assert (await counters(runtime, event.id)).event == 0
    assert gateway.net_captured() == 0 and len(gateway.refunds) == 1
    await drain(runtime, queues=["emails"])
    templates = [e.template for e in await emails_for(runtime, order.id)]
    assert "order_confirmation" not in templates  # no confirmation of an order not paid


async def test_a_second_pending_order_for_the_same_event_names_the_first(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    gateway.default_payment_method = None  # orders wait for their payment intent
    event = await make_event(runtime, organizer)
    first = await buy(client, event.id, order_body(1))

    second = await buy(client, event.id, order_body(2))

    assert second.status_code == 409
    assert second.json()["error"] == "pending_order_exists"
    assert second.json()["details"]["reference"] == first.json()["reference"]
    assert (await counters(runtime, event.id)).event == 1
