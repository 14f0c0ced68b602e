"""The happy paths: seed 001's guest purchase, seed 002's multi-tier order, replays, tickets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admitone.app import create_app
from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.events.errors import EventHasOrders
from admitone.jobs.worker import drain
from admitone.notifications.models import EmailLog
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing.models import OrderStatus
from tests.conftest import make_client
from tests.support.reads import counters
from tests.support.users import Signed
from tests.ticketing.conftest import (
    buy,
    emails_for,
    load_order,
    make_event,
    order_body,
    orders_of,
    ticket_count,
)


async def test_seed_purchase_as_a_guest_pays_issues_tickets_and_queues_the_email(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2, key="unique-key-123"))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "paid"
    assert order["total"] == "100.00" and order["currency"] == "USD"
    assert order["quantity"] == 2 and len(order["tickets"]) == 2
    assert all(len(t["code"]) >= 20 for t in order["tickets"])
    assert order["access_token"]
    assert (await counters(runtime, event.id)).event == 2
    assert [c.amount for c in gateway.succeeded_charges()] == [10000]
    await drain(runtime, queues=["emails"])  # the confirmation job renders and logs it
    [email] = await emails_for(runtime, order["id"])
    assert email.template == "order_confirmation" and email.to_address == "john@example.com"


async def test_the_confirmation_carries_the_tickets_pdf(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(3))).json()

    pdf = await client.get(
        f"/api/orders/{order['id']}/tickets.pdf", params={"token": order["access_token"]}
    )

    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert _pages(pdf.content) == 3  # one per admission

    assert await drain(runtime, queues=["emails"], max_jobs=1) == 1  # the confirmation only
    async with runtime.unit_of_work(readonly=True) as uow:
        email = await uow.session.scalar(
            select(EmailLog)
            .where(EmailLog.related_id == uuid.UUID(order["id"]))
            .options(selectinload(EmailLog.attachments))
        )
    assert email is not None and email.template == "order_confirmation"
    [attachment] = email.attachments
    assert attachment.filename == f"tickets-{order['reference']}.pdf"
    assert attachment.content_type == "application/pdf"
    assert _pages(attachment.content) == 3


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ")


async def test_a_multi_tier_order_takes_every_counter_at_once(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(
        runtime, organizer, tiers=[("Standing", "20.00", 50), ("VIP", "120.00", 5)]
    )
    standing, vip = event.tier_ids

    response = await buy(client, event.id, order_body(items=[(standing, 3), (vip, 2)]))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total"] == "300.00" and body["quantity"] == 5
    assert {(i["tier_name"], i["quantity"], i["unit_price"]) for i in body["items"]} == {
        ("Standing", 3, "20.00"),
        ("VIP", 2, "120.00"),
    }
    taken = await counters(runtime, event.id)
    assert taken.event == 5 and taken.tiers == {standing: 3, vip: 2}


async def test_a_purchase_announces_the_availability_it_leaves(
    client: httpx.AsyncClient, runtime: Runtime, organizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await make_event(
        runtime,
        organizer,
        tiers=[("Standing", "20.00", 50), ("VIP", "120.00", 5)],
        max_attendees=40,
    )
    standing, vip = event.tier_ids
    sent: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, message: dict[str, Any]) -> None:
        sent.append((topic, message))

    monkeypatch.setattr(runtime.bus, "publish", record)
    response = await buy(client, event.id, order_body(items=[(standing, 3), (vip, 2)]))

    assert response.status_code == 201, response.text
    # Whatever it was built from, it must be what the event says now (paying changes no
    # counter).
    [message] = [m for t, m in sent if t == f"events:{event.id}:availability"]
    assert message["type"] == "availability_changed"
    now = (await client.get(f"/api/events/{event.id}/availability")).json()
    assert message["payload"] == now
    assert (now["remaining"], [t["remaining"] for t in now["tiers"]]) == (35, [35, 3])


async def test_a_signed_in_buyer_needs_no_email_and_sees_the_order_in_their_list(
    client: httpx.AsyncClient, runtime: Runtime, organizer, buyer: Signed
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, {"order": {"quantity": 1}}, headers=buyer.headers)

    assert response.status_code == 201, response.text
    assert response.json()["customer_email"] == buyer.user.email
    mine = await client.get("/api/orders", headers=buyer.headers)
    assert [o["id"] for o in mine.json()["data"]] == [response.json()["id"]]
    one = await client.get(f"/api/orders/{response.json()['id']}", headers=buyer.headers)
    assert one.status_code == 200 and len(one.json()["tickets"]) == 1


async def test_the_same_idempotency_key_returns_the_same_order_with_200(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    first = await buy(client, event.id, order_body(2, key="retry-me"))
    again = await buy(client, event.id, order_body(2, key="retry-me"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["access_token"] is None  # the secret is shown once
    assert len(first.json()["tickets"]) == 2
    assert again.json()["tickets"] == []  # a guest's replay shows no admission codes
    assert len(await orders_of(runtime, event.id)) == 1
    assert len(gateway.charges) == 1
    assert (await counters(runtime, event.id)).event == 2


async def test_the_idempotency_key_header_works_like_the_body_field(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    headers = {"Idempotency-Key": "header-key"}
    first = await buy(client, event.id, order_body(1), headers=headers)
    again = await buy(client, event.id, order_body(1), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


async def test_reusing_a_key_for_another_purchase_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    await buy(client, event.id, order_body(2, key="k1"))

    response = await buy(client, event.id, order_body(3, key="k1"))

    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert response.json()["details"]["field"] == "order.idempotency_key"
    assert (await counters(runtime, event.id)).event == 2


async def test_two_buyers_with_the_same_key_get_two_orders(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:
    event = await make_event(runtime, organizer)
    a = await buy(client, event.id, order_body(1, email="a@example.com", key="same"))
    b = await buy(client, event.id, order_body(1, email="b@example.com", key="same"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


async def test_a_free_order_is_paid_without_the_gateway(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer, tiers=[("Free", "0", 10)])
    response = await buy(client, event.id, order_body(2))
    assert response.status_code == 201
    assert response.json()["status"] == "paid" and response.json()["total"] == "0.00"
    assert gateway.charges == []
    assert await ticket_count(runtime, response.json()["id"]) == 2


async def test_without_a_default_card_the_order_waits_for_the_payment_intent(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == OrderStatus.PENDING
    assert body["payment"]["status"] == "requires_action" and body["payment"]["client_secret"]
    assert body["tickets"] == []
    assert (await counters(runtime, event.id)).event == 2


async def test_the_purchase_rate_limit_is_the_strict_one(
    runtime: Runtime, organizer, settings
) -> None:

    # Per hour: the limiter's window is on the wall clock, which a minute's end could cut.
    strict = Runtime.build(
        settings.model_copy(update={"rate_limit_strict": "3/hour"}), runtime.clock
    )
    app = create_app(strict)
    event = await make_event(runtime, organizer, tiers=[("Free", "0", 100)])
    async with app.router.lifespan_context(app), make_client(app) as client:
        codes = [
            (await buy(client, event.id, order_body(1, email=f"r{i}@example.com"))).status_code
            for i in range(4)
        ]
    await strict.close()
    assert codes == [201, 201, 201, 429]


async def test_deleting_an_event_with_paid_orders_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer
) -> None:

    event = await make_event(runtime, organizer)
    await buy(client, event.id, order_body(1))
    actor = Actor(organizer.id, organizer.role)
    try:
        async with runtime.unit_of_work() as uow:
            await events_service.delete_event(uow, actor, event.id)
    except EventHasOrders:
        pass
    else:
        raise AssertionError("an event with paid orders was deleted")


async def test_a_pending_payment_intent_is_paid_by_confirming_it(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    pay = f"/api/orders/{order['id']}/pay"
    token = {"token": order["access_token"]}

    paid = await client.post(pay, params=token, json={"payment_method": "pm_card_visa"})

    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and len(paid.json()["tickets"]) == 2
    await drain(runtime, queues=["emails"])
    assert len(await emails_for(runtime, order["id"])) == 1
    again = await client.post(pay, params=token, json={"payment_method": "pm_card_visa"})
    assert again.status_code == 409 and again.json()["error"] == "order_not_payable"
    assert gateway.net_captured() == 10000


async def test_a_declined_confirmation_leaves_the_order_to_be_paid_with_another_card(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    pay = f"/api/orders/{order['id']}/pay"
    token = {"token": order["access_token"]}

    response = await client.post(
        pay, params=token, json={"payment_method": "pm_card_chargeDeclined"}
    )

    assert response.status_code == 402
    assert response.json()["error"] == "payment_failed"
    assert response.json()["details"]["reason"] == "card_declined"
    assert (await load_order(runtime, order["id"])).status == "pending"
    assert (await counters(runtime, event.id)).event == 2

    retried = await client.post(pay, params=token, json={"payment_method": "pm_card_visa"})

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid" and len(retried.json()["tickets"]) == 2
    assert gateway.net_captured() == 10000 and gateway.refunds == []
