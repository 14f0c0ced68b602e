"""Purchases through the API with the Stripe adapter (the official SDK against the fake Stripe
HTTP server), on SQLite and PostgreSQL: what a buyer sees, and what Stripe was asked."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job handlers, cron entries, topics
from admitone.accounts.models import Role, User
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.payments.models import PaymentCustomer
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.idempotency import cancel_key, charge_key, refund_key
from admitone.ticketing.purchase.pay import ensure_customer
from admitone.ticketing.refunds import REFUND_ORDER_JOB
from tests.conftest import auth_headers, create_user
from tests.payments.fake_stripe import FakeStripe
from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures
    STRIPE_TEST_TIMEOUT,
    runtime_on_stripe,
    settings_on_stripe,
)
from tests.support.reads import counters, jobs_of
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    buy,
    load_order,
    make_event,
    order_body,
    organizer_fixture,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

INTENTS = "/v1/payment_intents"


async def test_a_guest_pays_with_a_card_through_stripe_and_gets_tickets(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2, payment_method="pm_card_visa"))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "paid" and len(order["tickets"]) == 2
    [intent] = fake_stripe.payment_intents()
    assert (intent["amount"], intent["currency"], intent["status"]) == (10000, "usd", "succeeded")
    assert intent["metadata"]["order_id"] == order["id"] and intent["customer"] is None
    [sent] = fake_stripe.requests_to(INTENTS)
    assert sent.idempotency_key == charge_key(uuid.UUID(order["id"]))
    assert (await load_order(runtime, order["id"])).payment_reference == intent["id"]


async def test_without_a_card_the_order_waits_with_a_client_secret_then_is_paid(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    assert order["status"] == "pending"
    [intent] = fake_stripe.payment_intents()
    assert order["payment"]["client_secret"] == intent["client_secret"]

    paid = await client.post(
        f"/api/orders/{order['id']}/pay",
        params={"token": order["access_token"]},
        json={"payment_method": "pm_card_visa"},
    )

    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and len(paid.json()["tickets"]) == 2
    [confirm] = fake_stripe.requests_to(f"{INTENTS}/pi_\\w+/confirm")
    assert confirm.idempotency_key and confirm.params["payment_method"] == "pm_card_visa"
    assert fake_stripe.net_captured() == 10000


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
async def test_a_declined_card_is_a_402_and_the_order_can_be_paid_with_another_card(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    *,
    method: str,
    reason: str,
) -> None:
    event = await make_event(runtime, organizer)

    response = await buy(client, event.id, order_body(2, payment_method=method))

    assert response.status_code == 402, response.text
    assert response.json()["details"]["reason"] == reason
    order_id = response.json()["details"]["order_id"]
    assert (await load_order(runtime, order_id)).status == "pending"
    assert (await counters(runtime, event.id)).event == 2
    assert fake_stripe.net_captured() == 0
    paid = await client.post(
        f"/api/orders/{order_id}/pay",
        params={"token": response.json()["details"]["access_token"]},
        json={"payment_method": "pm_card_visa"},
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and len(paid.json()["tickets"]) == 2
    [intent] = fake_stripe.payment_intents()  # the same intent took the second card
    assert intent["status"] == "succeeded" and fake_stripe.net_captured() == 10000


async def test_each_try_after_a_decline_reaches_stripe_even_with_the_same_card(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    pay = f"/api/orders/{order['id']}/pay"
    token = {"token": order["access_token"]}
    card = {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
    clock.advance(seconds=30)  # the buyer types their card in

    first = await client.post(pay, params=token, json=card)
    clock.advance(seconds=30)  # the buyer topped the card up
    second = await client.post(pay, params=token, json=card)

    assert (first.status_code, second.status_code) == (402, 402)
    keys = [r.idempotency_key for r in fake_stripe.requests_to(f"{INTENTS}/pi_\\w+/confirm")]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert len([c for c in fake_stripe.charges() if c["status"] == "failed"]) == 2


async def test_an_order_declined_then_expired_has_its_intent_cancelled_at_stripe(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    response = await buy(client, event.id, order_body(2, payment_method="pm_card_chargeDeclined"))
    assert response.status_code == 402, response.text

    clock.advance(minutes=15)
    await drain(runtime)

    order_id = uuid.UUID(response.json()["details"]["order_id"])
    assert (await load_order(runtime, order_id)).status == "expired"
    assert (await counters(runtime, event.id)).event == 0
    [intent] = fake_stripe.payment_intents()
    assert intent["status"] == "canceled"
    [cancel] = fake_stripe.requests_to(f"{INTENTS}/pi_\\w+/cancel")
    assert cancel.idempotency_key == cancel_key(order_id)
    # A stale browser tab can no longer take the money.
    fake_stripe.complete_in_browser(intent["id"], "pm_card_visa")
    assert fake_stripe.net_captured() == 0


async def test_an_intent_paid_in_the_browser_as_the_order_expires_pays_the_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2))).json()
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"], "pm_card_visa")  # its webhook is not in yet

    clock.advance(minutes=15)
    await drain(runtime)

    paid = await load_order(runtime, order["id"])
    assert paid.status == "paid" and paid.payment_reference == intent["id"]
    assert (await counters(runtime, event.id)).event == 2
    assert fake_stripe.net_captured() == 10000 and fake_stripe.refunds() == []
    assert fake_stripe.get(intent["id"])["status"] == "succeeded"


async def test_a_timeout_is_a_402_and_a_charge_that_landed_anyway_is_refunded(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    fake_stripe.hang_next(STRIPE_TEST_TIMEOUT + 0.5, path=INTENTS)

    response = await buy(client, event.id, order_body(2, payment_method="pm_card_visa"))

    assert response.status_code == 402, response.text
    body = response.json()
    assert body["details"]["reason"] == "timeout"
    assert (await counters(runtime, event.id)).event == 0
    assert len(await jobs_of(runtime, REFUND_ORDER_JOB)) == 1
    # The request reached Stripe and took the money after the adapter gave up on it ...
    fake_stripe.wait_idle()
    assert fake_stripe.net_captured() == 10000

    # ... so the reconciling refund finds it by the order's key and gives it back.
    order_id = uuid.UUID(body["details"]["order_id"])
    order = await ticketing_service.complete_refund(runtime.unit_of_work, runtime.gateway, order_id)

    assert order.status == "failed" and order.refund_reference is not None
    [refund] = fake_stripe.refunds()
    assert refund["id"] == order.refund_reference
    assert fake_stripe.requests_to("/v1/refunds")[0].idempotency_key == refund_key(order_id)
    assert fake_stripe.net_captured() == 0


async def test_stripe_unavailable_is_a_402_and_nothing_is_charged(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    fake_stripe.fail_next(503, count=5)

    response = await buy(client, event.id, order_body(2, payment_method="pm_card_visa"))

    assert response.status_code == 402, response.text
    assert response.json()["details"]["reason"] == "gateway_unavailable"
    assert (await counters(runtime, event.id)).event == 0
    assert fake_stripe.payment_intents() == []


async def test_a_signed_in_buyer_is_one_stripe_customer_across_purchases(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    user, headers = await auth_headers(client, runtime, Role.CUSTOMER)
    first, second = [await make_event(runtime, organizer) for _ in range(2)]
    body = {"order": {"quantity": 1, "payment_method": "pm_card_visa"}}

    for event in (first, second):
        response = await buy(client, event.id, body, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "paid"

    [customer] = fake_stripe.customers()
    assert (customer["email"], customer["metadata"]["user_id"]) == (user.email, str(user.id))
    assert [i["customer"] for i in fake_stripe.payment_intents()] == [customer["id"]] * 2
    assert len(fake_stripe.requests_to("/v1/customers")) == 1
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = list(await uow.session.scalars(select(PaymentCustomer)))
    assert [(r.user_id, r.gateway, r.customer_id) for r in rows] == [
        (user.id, "stripe", customer["id"])
    ]


async def test_cancelling_a_paid_order_refunds_it_at_stripe_once(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    order = (await buy(client, event.id, order_body(2, payment_method="pm_card_visa"))).json()

    response = await client.post(
        f"/api/orders/{order['id']}/cancel", params={"token": order["access_token"]}
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"
    [refund] = fake_stripe.refunds()
    assert refund["amount"] == 10000
    [sent] = fake_stripe.requests_to("/v1/refunds")
    assert sent.idempotency_key == refund_key(uuid.UUID(order["id"]))
    assert fake_stripe.net_captured() == 0


async def test_two_first_purchases_racing_create_one_customer(
    runtime: Runtime, fake_stripe: FakeStripe
) -> None:
    user = await create_user(runtime)

    async def ensure() -> str | None:
        return await ensure_customer(
            runtime.unit_of_work, runtime.gateway, user_id=user.id, email=user.email, name=user.name
        )

    answers = await asyncio.gather(ensure(), ensure())

    # Both asked Stripe with the user's key: one customer. A caller that met the other's
    # request still running (409) charges without a customer rather than making a second one.
    [customer] = fake_stripe.customers()
    assert set(answers) - {None} == {customer["id"]}
    assert {r.idempotency_key for r in fake_stripe.requests_to("/v1/customers")} == {
        f"admitone-user-{user.id}-customer"
    }
    async with runtime.unit_of_work(readonly=True) as uow:
        assert list(await uow.session.scalars(select(PaymentCustomer.customer_id))) == [
            customer["id"]
        ]
