"""Subscriptions end to end on Stripe: the app pays through the Stripe adapter (the official
SDK against the fake Stripe server), Stripe bills the periods, and its signed events, posted to
the webhook route, move billing's subscription and book each period once in the ledger."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job handlers, cron entries, topics, billing's handler
from admitone.billing import subscription_emails
from admitone.billing.models import Subscription, SubscriptionCharge
from admitone.billing.subscription_fees import RECORD_FEE_JOB
from admitone.jobs.worker import drain
from admitone.ledger.models import JournalEntry
from admitone.notifications.models import EmailLog
from admitone.payments.stripe_gateway import StripeGateway
from admitone.payments.subscriptions import GatewaySubscription, SubscriptionRequest
from admitone.runtime import Runtime
from tests.payments.fake_stripe import FakeStripe
from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures
    STRIPE_TEST_TIMEOUT,
    runtime_on_stripe,
    settings_on_stripe,
)
from tests.payments.webhook_support import post_webhook
from tests.support.reads import jobs_of
from tests.support.subscriptions import SUBSCRIPTIONS, end_during, load, make_plan, subscribe
from tests.support.users import Signed

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

Json = dict[str, Any]
SUBSCRIPTION_EVENTS = (
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)


async def deliver(client: httpx.AsyncClient, events: list[Json]) -> list[str]:
    """Post Stripe's events, signed, to the webhook route; answers their outcomes."""
    answers = [await post_webhook(client, event) for event in events]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [str(a.json()["outcome"]) for a in answers]


def about_subscriptions(events: list[Json]) -> list[Json]:
    return [event for event in events if event["type"] in SUBSCRIPTION_EVENTS]


async def booked(
    runtime: Runtime, subscription_id: str, kind: str = "subscription_charge"
) -> list[int]:
    """The amounts of the subscription's ledger entries of ``kind``, oldest first."""
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(JournalEntry.amount)
            .where(
                JournalEntry.subscription_id == uuid.UUID(subscription_id),
                JournalEntry.kind == kind,
            )
            .order_by(JournalEntry.posted_at, JournalEntry.id)
        )
        return list(rows)


async def emails_about(runtime: Runtime, subscription_id: str) -> list[str]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(EmailLog.template).where(EmailLog.related_id == uuid.UUID(subscription_id))
        )
        return list(rows)


async def subscribed_with_a_card(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> tuple[Json, str]:
    """An active subscription with every event of its creation delivered; and its id at
    Stripe."""
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    sub = await subscribe(client, subscriber.headers, plan.id)
    await deliver(client, fake_stripe.events)
    remote = (await load(runtime, sub["id"])).gateway_subscription_id
    assert remote is not None
    return sub, remote


async def test_subscribing_with_a_card_is_active_at_stripe_and_the_first_period_booked_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)

    sub = await subscribe(client, subscriber.headers, plan.id)

    assert (sub["status"], sub["period_number"]) == ("active", 1)
    [remote] = fake_stripe.subscriptions()
    assert remote["status"] == "active"
    assert remote["metadata"]["subscription_id"] == sub["id"]
    assert (await load(runtime, sub["id"])).gateway_subscription_id == remote["id"]
    fee = fake_stripe.fees()
    assert fee > 0
    assert await booked(runtime, sub["id"]) == [1500]
    assert await booked(runtime, sub["id"], "processing_fee") == [fee]
    # Stripe reports the same first payment again: it is the period booked at subscribe.
    [paid] = fake_stripe.events_of("invoice.paid")
    assert await deliver(client, [paid]) == ["duplicate"]
    assert await deliver(client, [paid]) == ["duplicate"]
    assert await booked(runtime, sub["id"]) == [1500]
    assert await booked(runtime, sub["id"], "processing_fee") == [fee]
    assert (await load(runtime, sub["id"])).period_number == 1


async def test_without_a_card_it_waits_incomplete_until_stripe_reports_the_invoice_paid(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)

    sub = await subscribe(client, subscriber.headers, plan.id, payment_method=None)

    assert sub["status"] == "incomplete"
    [intent] = fake_stripe.payment_intents()
    assert sub["client_secret"] == intent["client_secret"]
    assert await booked(runtime, sub["id"]) == []
    fake_stripe.complete_in_browser(intent["id"])
    [paid] = fake_stripe.events_of("invoice.paid")

    assert await deliver(client, [paid]) == ["paid"]
    assert await deliver(client, [paid]) == ["duplicate"]

    now = await load(runtime, sub["id"])
    assert (now.status, now.period_number) == ("active", 1)
    # Stripe's invoice names no charge and no fee: the payment alone is booked, once.
    assert await booked(runtime, sub["id"]) == [1500]
    assert await booked(runtime, sub["id"], "processing_fee") == []
    await deliver(client, about_subscriptions(fake_stripe.events))
    assert await booked(runtime, sub["id"]) == [1500]
    assert (await load(runtime, sub["id"])).status == "active"


@pytest.mark.parametrize("invoice_first", [False, True], ids=["stripes_order", "invoice_first"])
async def test_a_renewal_paid_advances_the_period_and_books_the_second_charge(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
    *,
    invoice_first: bool,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)
    before = await load(runtime, sub["id"])

    # Stripe sends the update that moves the period before the invoice that pays it, but
    # promises no order.
    renewal = about_subscriptions(fake_stripe.advance_period(remote))
    assert [e["type"] for e in renewal] == ["customer.subscription.updated", "invoice.paid"]
    await deliver(client, renewal[::-1] if invoice_first else renewal)

    now = await load(runtime, sub["id"])
    assert (now.status, now.period_number) == ("active", 2)
    assert now.current_period_start == before.current_period_end
    assert now.current_period_end is not None and before.current_period_end is not None
    assert now.current_period_end > before.current_period_end
    assert await booked(runtime, sub["id"]) == [1500, 1500]
    assert set(await deliver(client, renewal)) == {"duplicate"}
    assert len(await booked(runtime, sub["id"])) == 2


async def test_a_renewal_declined_makes_it_past_due_and_reminds_the_subscriber(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)

    declined = fake_stripe.advance_period(remote, "pm_card_chargeDeclinedInsufficientFunds")
    await deliver(client, declined)

    now = await load(runtime, sub["id"])
    assert now.status == "past_due" and now.grace_until is not None
    assert fake_stripe.get(remote)["status"] == "past_due"
    assert await emails_about(runtime, sub["id"]) == [subscription_emails.PAST_DUE]
    assert await booked(runtime, sub["id"]) == [1500]


async def test_stripe_deleting_the_subscription_cancels_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    *,
    stripe_gateway: StripeGateway,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)
    # Cancelled in Stripe's dashboard: only its event tells us.
    await stripe_gateway.cancel_subscription(
        remote, at_period_end=False, idempotency_key="dashboard-cancel"
    )
    [deleted] = fake_stripe.events_of("customer.subscription.deleted")

    assert await deliver(client, [deleted]) == ["canceled"]

    now = await load(runtime, sub["id"])
    assert now.status == "canceled" and now.ended_at is not None


async def test_an_older_update_delivered_after_a_newer_one_changes_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    *,
    stripe_gateway: StripeGateway,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)
    fake_stripe.advance_period(remote)
    await stripe_gateway.cancel_subscription(
        remote, at_period_end=True, idempotency_key="dashboard-cancel-at-end"
    )
    older, newer = fake_stripe.events_of("customer.subscription.updated")[-2:]
    assert newer["data"]["object"]["cancel_at_period_end"] is True
    # Later than every event delivered so far, a minute apart: Stripe's clock, not the fake's.
    latest = max(int(event["created"]) for event in fake_stripe.events)
    older["created"], newer["created"] = latest + 60, latest + 120

    assert await deliver(client, [newer, older]) == ["updated", "stale"]

    now = await load(runtime, sub["id"])
    assert now.cancel_at_period_end is True
    assert now.status == "active"


async def test_cancelling_through_the_api_cancels_at_stripe(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)
    url = f"{SUBSCRIPTIONS}/{sub['id']}/cancel"

    at_end = await client.post(url, json={"at_period_end": True}, headers=subscriber.headers)

    assert at_end.status_code == 200, at_end.text
    assert at_end.json()["status"] == "active" and at_end.json()["cancel_at_period_end"] is True
    assert fake_stripe.get(remote)["cancel_at_period_end"] is True

    now = await client.post(url, json={"at_period_end": False}, headers=subscriber.headers)

    assert now.status_code == 200, now.text
    assert now.json()["status"] == "canceled"
    assert [r.path for r in fake_stripe.requests_to(f"/v1/subscriptions/{remote}", "DELETE")]
    assert fake_stripe.get(remote)["status"] == "canceled"
    # Stripe's own word on it, arriving later, changes nothing more.
    await deliver(client, about_subscriptions(fake_stripe.events))
    assert (await load(runtime, sub["id"])).status == "canceled"


async def test_the_organizer_ends_it_now_with_a_refund_at_stripe_booked_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)

    ended = await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel",
        json={"at_period_end": False, "refund": True},
        headers=organizer.headers,
    )

    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "canceled"
    assert fake_stripe.get(remote)["status"] == "canceled"
    assert [r["amount"] for r in fake_stripe.refunds()] == [1500]
    assert await booked(runtime, sub["id"], "subscription_refund") == [1500]
    await deliver(client, fake_stripe.events)
    assert await booked(runtime, sub["id"], "subscription_refund") == [1500]


async def test_a_period_paid_in_the_browser_is_refunded_though_its_invoice_named_no_charge(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    sub = await subscribe(client, subscriber.headers, plan.id, payment_method=None)
    [intent] = fake_stripe.payment_intents()
    fake_stripe.complete_in_browser(intent["id"])
    await deliver(client, about_subscriptions(fake_stripe.events))

    ended = await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel",
        json={"at_period_end": False, "refund": True},
        headers=organizer.headers,
    )

    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "canceled"
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds()] == [
        (intent["id"], 1500)
    ]
    assert await booked(runtime, sub["id"], "subscription_refund") == [1500]


async def test_a_trials_free_invoice_books_no_period_and_the_first_paid_one_is_period_one(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500, trial_days=14)
    sub = await subscribe(client, subscriber.headers, plan.id)
    [remote] = fake_stripe.subscriptions()
    [free] = fake_stripe.events_of("invoice.paid")
    assert free["data"]["object"]["amount_paid"] == 0

    assert await deliver(client, [free]) == ["free_period"]
    await deliver(client, about_subscriptions(fake_stripe.events))

    trialing = await load(runtime, sub["id"])
    assert (trialing.status, trialing.period_number) == ("trialing", sub["period_number"])
    assert await booked(runtime, sub["id"]) == []
    async with runtime.unit_of_work(readonly=True) as uow:
        charges = await uow.session.scalars(
            select(SubscriptionCharge).where(
                SubscriptionCharge.subscription_id == uuid.UUID(sub["id"])
            )
        )
        assert list(charges) == []

    await deliver(client, about_subscriptions(fake_stripe.advance_period(remote["id"])))

    paid = await load(runtime, sub["id"])
    assert (paid.status, paid.period_number) == ("active", sub["period_number"] + 1)
    assert await booked(runtime, sub["id"]) == [1500]


async def test_a_renewal_paid_posts_its_stripe_fee_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    sub, remote = await subscribed_with_a_card(client, runtime, fake_stripe, organizer, subscriber)
    first_fee = fake_stripe.fees()

    renewal = about_subscriptions(fake_stripe.advance_period(remote))
    await deliver(client, renewal)
    await drain(runtime)
    await deliver(client, renewal)
    await drain(runtime)

    renewal_fee = fake_stripe.fees() - first_fee
    assert renewal_fee > 0
    assert await booked(runtime, sub["id"]) == [1500, 1500]
    assert await booked(runtime, sub["id"], "processing_fee") == [first_fee, renewal_fee]
    assert [job.state for job in await jobs_of(runtime, RECORD_FEE_JOB)] == ["completed"]


async def test_an_answer_lost_after_stripe_created_it_keeps_it_and_a_job_confirms_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    # Stripe creates the subscription (and charges), but its answer comes too late.
    fake_stripe.hang_next(STRIPE_TEST_TIMEOUT + 0.5, path="/v1/subscriptions")

    down = await subscribe(client, subscriber.headers, plan.id, expect=503)
    fake_stripe.wait_idle()

    assert down["error"] == "subscription_being_confirmed"
    [remote] = fake_stripe.subscriptions()
    kept = await load(runtime, down["details"]["subscription_id"])
    assert (kept.status, kept.gateway_subscription_id) == ("incomplete", None)
    await drain(runtime)
    now = await load(runtime, kept.id)
    assert (now.status, now.period_number, now.gateway_subscription_id) == (
        "active",
        1,
        remote["id"],
    )
    assert len(fake_stripe.subscriptions()) == 1
    assert await booked(runtime, str(kept.id)) == [1500]


async def test_a_subscription_stripe_refused_is_not_kept(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    fake_stripe.fail_next(400, path="/v1/subscriptions")

    refused = await subscribe(client, subscriber.headers, plan.id, expect=402)

    assert refused["error"] == "payment_failed"
    async with runtime.unit_of_work(readonly=True) as uow:
        assert list(await uow.session.scalars(select(Subscription))) == []
    assert fake_stripe.subscriptions() == []


async def test_a_subscription_ended_while_stripe_created_it_stays_ended_and_is_cancelled_there(
    client: httpx.AsyncClient,
    runtime: Runtime,
    fake_stripe: FakeStripe,
    organizer: Signed,
    subscriber: Signed,
    *,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    gateway = runtime.gateway
    assert isinstance(gateway, StripeGateway)
    create = gateway.create_subscription

    async def create_then_end(request: SubscriptionRequest) -> GatewaySubscription:
        made = await create(request)
        await end_during(runtime, request.metadata["subscription_id"])
        return made

    monkeypatch.setattr(gateway, "create_subscription", create_then_end)

    sub = await subscribe(client, subscriber.headers, plan.id)

    assert sub["status"] == "canceled"
    assert await booked(runtime, sub["id"]) == []
    await drain(runtime)
    [remote] = fake_stripe.subscriptions()
    assert remote["status"] == "canceled"
    assert (await load(runtime, sub["id"])).status == "canceled"
