"""End to end with Stripe's side played by the fake Stripe HTTP server and ours by the official
SDK: the browser confirms, Stripe's own events (signed with the SDK's scheme) settle the order,
the dashboard refunds, reconciliation repairs a lost event, and the books equal what Stripe
holds."""

from __future__ import annotations

import httpx
import pytest

from admitone.accounts.models import User
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger
from admitone.payment_settlement.reconciliation import reconcile
from admitone.runtime import Runtime
from admitone.ticketing.books import RECORD_FEE_JOB
from admitone.ticketing.models import OrderStatus
from tests.payments.fake_stripe import PUBLISHABLE_KEY, FakeStripe, event_payload, sign_webhook
from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures
    runtime_on_stripe,
    settings_on_stripe,
)
from tests.payments.webhook_support import entries_of, pending_order, post_webhook
from tests.support.reads import counters, jobs_of
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    load_order,
    make_event,
    organizer_fixture,
    ticket_count,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def books_match_stripe(runtime: Runtime, organizer: User, fake: FakeStripe) -> None:
    async with runtime.unit_of_work(readonly=True) as uow:
        trial = await ledger.trial_balance(uow, organizer_id=organizer.id)
        held = await ledger.gateway_balance(uow, organizer.id, "USD")
    assert trial.balanced
    assert held == fake.net_captured() - fake.fees()


async def test_stripes_own_events_pay_then_refund_the_order_and_the_books_follow(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    intent = await client.post(
        f"/api/orders/{order['id']}/payment-intent", params={"token": order["access_token"]}
    )
    assert intent.status_code == 200, intent.text
    assert intent.json()["client_secret"] == order["payment"]["client_secret"]
    assert intent.json()["publishable_key"] == PUBLISHABLE_KEY
    fake_stripe.complete_in_browser(intent.json()["payment_intent_id"])

    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    assert (await post_webhook(client, succeeded)).json()["outcome"] == "paid"
    assert (await post_webhook(client, succeeded)).json()["outcome"] == "duplicate"
    assert await ticket_count(runtime, order["id"]) == 2
    clock.advance(minutes=1)
    await drain(runtime)  # the fee, read from the charge's balance transaction
    await books_match_stripe(runtime, organizer, fake_stripe)

    fake_stripe.refund_from_dashboard(intent.json()["payment_intent_id"])
    [refunded] = fake_stripe.events_of("charge.refunded")
    assert (await post_webhook(client, refunded)).json()["outcome"] == "refunded"

    order_now = await load_order(runtime, order["id"])
    assert order_now.status == OrderStatus.REFUNDED
    assert await ticket_count(runtime, order["id"], "void") == 2
    assert (await counters(runtime, event.id)).event == 0
    assert [kind for kind, _ in await entries_of(runtime, order["id"])] == [
        "payment_captured",
        "processing_fee",
        "refund",
    ]
    await books_match_stripe(runtime, organizer, fake_stripe)


async def test_a_card_declined_in_the_browser_leaves_the_order_to_another_card(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"], "pm_card_chargeDeclinedInsufficientFunds")

    [failed] = fake_stripe.events_of("payment_intent.payment_failed")
    assert (await post_webhook(client, failed)).json()["outcome"] == "declined"
    assert (await load_order(runtime, order["id"])).status == "pending"
    assert (await counters(runtime, event.id)).event == 2

    fake_stripe.complete_in_browser(intent["id"], "pm_card_visa")
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    assert (await post_webhook(client, succeeded)).json()["outcome"] == "paid"
    assert (await load_order(runtime, order["id"])).status == "paid"
    assert fake_stripe.net_captured() == 10000 and fake_stripe.refunds() == []


async def test_reconciliation_repairs_a_lost_event_through_the_sdk(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])  # its webhook is lost
    clock.advance(minutes=11)

    assert await reconcile(runtime) == {"paid": 1}

    assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
    assert await ticket_count(runtime, order["id"]) == 2
    await books_match_stripe(runtime, organizer, fake_stripe)


async def test_a_webhook_signed_for_another_body_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, fake_stripe: FakeStripe
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    signature = sign_webhook(event_payload(succeeded))
    tampered = event_payload({**succeeded, "id": "evt_forged"})

    response = await client.post(
        "/api/webhooks/stripe", content=tampered.encode(), headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_signature"
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PENDING


async def test_a_partial_refund_from_the_dashboard_is_posted_and_the_books_match_stripe(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    await post_webhook(client, succeeded)
    clock.advance(minutes=1)
    await drain(runtime)

    fake_stripe.refund_from_dashboard(intent["id"], amount=3000)
    [created] = fake_stripe.events_of("refund.created")
    [refunded] = fake_stripe.events_of("charge.refunded")

    assert (await post_webhook(client, refunded)).json()["outcome"] == "partial_refund"
    assert (await post_webhook(client, created)).json()["outcome"] == "refund_recorded"
    body = (
        await client.get(
            f"/api/orders/by-reference/{order['reference']}",
            params={"token": order["access_token"]},
        )
    ).json()
    assert (body["status"], body["refunded"]) == ("paid", "30.00")
    assert await ticket_count(runtime, order["id"]) == 2
    await books_match_stripe(runtime, organizer, fake_stripe)


async def test_a_fee_settled_in_another_currency_is_booked_in_the_orders_currency(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    fake_stripe.settle_in("eur", 0.9)
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    await post_webhook(client, succeeded)

    clock.advance(minutes=1)
    await drain(runtime)

    [transaction] = fake_stripe.balance_transactions()
    assert (transaction["currency"], transaction["fee"]) == ("eur", 291)
    # 2.91 EUR at 0.9 EUR per USD: 3.2333 USD.
    assert await entries_of(runtime, order["id"]) == [
        ("payment_captured", 10000),
        ("processing_fee", 323),
    ]
    assert [job.state for job in await jobs_of(runtime, RECORD_FEE_JOB)] == ["completed"]


async def test_a_fee_that_cannot_be_booked_fails_its_job_at_once_for_staff(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    fake_stripe: FakeStripe,
    clock: FrozenClock,
) -> None:
    fake_stripe.settle_in("eur", None)  # converted, but no rate reported
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    assert (await post_webhook(client, succeeded)).json()["outcome"] == "paid"

    clock.advance(minutes=1)
    await drain(runtime)

    [job] = await jobs_of(runtime, RECORD_FEE_JOB)
    assert (job.state, job.attempt) == ("dead", 1)
    assert job.last_error is not None
    assert "cannot be booked: fee in EUR without an exchange rate" in job.last_error
    assert await entries_of(runtime, order["id"]) == [("payment_captured", 10000)]
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
