"""Stripe's subscription events through the webhook route: the fake Stripe server renews,
fails and ends a subscription made by the SDK, and each of its events reaches billing's
handler (a recorder here) exactly once, with the time Stripe created it."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from admitone.payments import subscriptions
from admitone.payments.gateway import CustomerRequest
from admitone.payments.models import ProcessedWebhookEvent
from admitone.payments.stripe_gateway import StripeGateway
from admitone.payments.subscriptions import (
    GatewaySubscriptionStatus,
    PlanPrice,
    SubscriptionEventKind,
    SubscriptionRequest,
)
from admitone.runtime import Runtime
from tests.payments.fake_stripe import FakeStripe, event_payload, sign_webhook
from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures
    runtime_on_stripe,
    settings_on_stripe,
)
from tests.payments.webhook_support import post_webhook
from tests.support.subscription_events import (  # noqa: F401 - fixtures
    RecordingHandler,
    recorded_subscription_events_fixture,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

Json = dict[str, object]
PLAN = PlanPrice("plan-gold", "Gold membership", 1500, "EUR", "month")
SUBSCRIPTION_KINDS = {kind.value for kind in SubscriptionEventKind}


async def subscribed(gateway: StripeGateway, card: str = "pm_card_visa") -> str:
    customer = await gateway.create_customer(
        CustomerRequest("user-1", "ann@example.com", "Ann", "admitone-user-1-customer")
    )
    subscription = await gateway.create_subscription(
        SubscriptionRequest(
            PLAN,
            "admitone-subscription-1-create",
            customer_id=customer,
            payment_method=card,
            metadata={"subscription_id": "sub-1"},
        )
    )
    assert subscription.status is GatewaySubscriptionStatus.ACTIVE
    return subscription.id


def of_type(events: list[Json], event_type: str) -> list[Json]:
    return [event for event in events if event["type"] == event_type]


async def outcomes(client: httpx.AsyncClient, events: list[Json]) -> list[str]:
    answers = [await post_webhook(client, event) for event in events]
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    return [str(answer.json()["outcome"]) for answer in answers]


async def recorded_outcome(runtime: Runtime, event_id: str) -> str | None:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await uow.session.scalar(
            select(ProcessedWebhookEvent.outcome).where(ProcessedWebhookEvent.event_id == event_id)
        )


async def test_a_subscriptions_life_reaches_the_handler_once_per_event_and_a_replay_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    subscription_id = await subscribed(stripe_gateway)
    fake_stripe.advance_period(subscription_id)  # renewed and paid
    fake_stripe.advance_period(subscription_id, "pm_card_chargeDeclinedInsufficientFunds")
    await stripe_gateway.cancel_subscription(
        subscription_id, at_period_end=True, idempotency_key="admitone-subscription-1-cancel"
    )
    fake_stripe.advance_period(subscription_id)  # ends
    events = fake_stripe.events
    ours = [event for event in events if event["type"] in SUBSCRIPTION_KINDS]

    answered = await outcomes(client, events)

    handled = recorded_subscription_events
    assert [event.event_id for event in handled.events] == [event["id"] for event in ours]
    assert handled.kinds() == [
        "invoice.paid",  # the first period
        "customer.subscription.updated",  # the next period
        "invoice.paid",
        "customer.subscription.updated",  # the next period
        "invoice.payment_failed",
        "customer.subscription.updated",  # past_due
        "customer.subscription.updated",  # set to cancel at the period's end
        "customer.subscription.deleted",
    ]
    assert set(handled.record_outcomes) == {"processing"}  # recorded first, same transaction
    assert {event.subscription_id for event in handled.events} == {subscription_id}
    assert {event.metadata["subscription_id"] for event in handled.events} == {"sub-1"}
    paid, updated, renewed, _, failed, past_due, cancelling, deleted = handled.events
    assert (paid.amount, paid.currency, paid.invoice_id) == (
        1500,
        "EUR",
        ours[0]["data"]["object"]["id"],
    )
    assert renewed.current_period_start == updated.current_period_start
    assert paid.current_period_end == renewed.current_period_start
    assert (failed.amount, failed.currency) == (1500, "EUR")
    assert past_due.status is GatewaySubscriptionStatus.PAST_DUE
    assert (cancelling.status, cancelling.cancel_at_period_end) == (
        GatewaySubscriptionStatus.PAST_DUE,
        True,
    )
    assert deleted.status is GatewaySubscriptionStatus.CANCELED
    assert all(
        outcome == ("recorded" if event["type"] in SUBSCRIPTION_KINDS else "ignored")
        for event, outcome in zip(events, answered, strict=True)
    )

    assert set(await outcomes(client, events)) == {"duplicate"}
    assert len(handled.events) == len(ours)


async def test_a_first_period_paid_in_the_browser_reaches_the_handler_as_paid_then_active(
    client: httpx.AsyncClient,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    customer = await stripe_gateway.create_customer(
        CustomerRequest("user-1", "ann@example.com", "Ann", "admitone-user-1-customer")
    )
    created = await stripe_gateway.create_subscription(
        SubscriptionRequest(PLAN, "admitone-subscription-1-create", customer_id=customer)
    )
    [intent] = fake_stripe.payment_intents()
    assert created.client_secret == intent["client_secret"]
    fake_stripe.complete_in_browser(intent["id"])

    await outcomes(client, fake_stripe.events)

    paid, activated = recorded_subscription_events.events
    assert (paid.kind, paid.amount) == (SubscriptionEventKind.INVOICE_PAID, 1500)
    assert (activated.kind, activated.status) == (
        SubscriptionEventKind.UPDATED,
        GatewaySubscriptionStatus.ACTIVE,
    )
    assert {paid.subscription_id, activated.subscription_id} == {created.id}


async def test_events_out_of_order_reach_the_handler_with_the_time_stripe_created_them(
    client: httpx.AsyncClient,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    subscription_id = await subscribed(stripe_gateway)
    [renewed] = of_type(
        fake_stripe.advance_period(subscription_id), "customer.subscription.updated"
    )
    await stripe_gateway.cancel_subscription(
        subscription_id, at_period_end=False, idempotency_key="admitone-subscription-1-cancel"
    )
    [deleted] = fake_stripe.events_of("customer.subscription.deleted")
    renewed["created"], deleted["created"] = 1_780_000_000, 1_780_000_060

    assert await outcomes(client, [deleted, renewed]) == ["recorded", "recorded"]

    first, second = recorded_subscription_events.events
    assert (first.kind, first.created) == (
        SubscriptionEventKind.DELETED,
        datetime(2026, 5, 28, 20, 27, 40, tzinfo=UTC),
    )
    assert (second.kind, second.created) == (
        SubscriptionEventKind.UPDATED,
        datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC),
    )
    assert second.created < first.created  # which one wins is the handler's to decide


async def test_a_subscription_event_signed_for_another_body_is_refused_and_applies_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    subscription_id = await subscribed(stripe_gateway)
    [paid] = of_type(fake_stripe.advance_period(subscription_id), "invoice.paid")
    signature = sign_webhook(event_payload(paid))
    tampered = event_payload({**paid, "id": "evt_forged"})

    response = await client.post(
        "/api/webhooks/stripe", content=tampered.encode(), headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_signature"
    assert recorded_subscription_events.events == []
    assert await recorded_outcome(runtime, "evt_forged") is None


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("customer.subscription.updated", {"id": "sub_1", "object": "subscription"}),
        (
            "customer.subscription.deleted",
            {"id": "sub_1", "status": "gone", "current_period_start": 1, "current_period_end": 2},
        ),
        (
            "invoice.paid",
            {"id": "in_1", "subscription": "sub_1", "amount_paid": "many", "currency": "eur"},
        ),
        ("invoice.payment_failed", {"id": "in_1", "subscription": "sub_1"}),
    ],
)
async def test_an_unreadable_subscription_event_is_recorded_unreadable_and_applies_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    recorded_subscription_events: RecordingHandler,
    event_type: str,
    obj: Json,
) -> None:
    event: Json = {
        "id": "evt_unreadable",
        "object": "event",
        "type": event_type,
        "created": 1_780_000_000,
        "data": {"object": obj},
    }

    with capture_logs() as logs:
        assert await outcomes(client, [event]) == ["unreadable"]

    assert {"event": "webhook_unreadable", "event_type": event_type, "log_level": "error"} in [
        {k: log[k] for k in ("event", "event_type", "log_level") if k in log} for log in logs
    ]
    assert recorded_subscription_events.events == []
    assert await recorded_outcome(runtime, "evt_unreadable") == "unreadable"
    assert await outcomes(client, [event]) == ["duplicate"]


async def test_an_invoice_of_no_subscription_is_ignored(
    client: httpx.AsyncClient, recorded_subscription_events: RecordingHandler
) -> None:
    event: Json = {
        "id": "evt_one_off_invoice",
        "object": "event",
        "type": "invoice.paid",
        "created": 1_780_000_000,
        "data": {"object": {"id": "in_1", "object": "invoice", "parent": None, "lines": {}}},
    }

    assert await outcomes(client, [event]) == ["ignored"]
    assert recorded_subscription_events.events == []


async def test_a_subscription_invoices_payment_is_no_orders_and_is_logged_and_ignored(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    await subscribed(stripe_gateway)
    [succeeded] = fake_stripe.events_of("payment_intent.succeeded")
    [charged] = fake_stripe.events_of("charge.succeeded")

    with capture_logs() as logs:
        assert await outcomes(client, [succeeded, charged]) == ["ignored", "ignored"]

    [warning] = [log for log in logs if log["event"] == "webhook_for_unknown_order"]
    assert (warning["log_level"], warning["charge_id"]) == (
        "warning",
        succeeded["data"]["object"]["id"],
    )
    assert await recorded_outcome(runtime, str(succeeded["id"])) == "ignored"
    assert recorded_subscription_events.events == []


async def test_a_handler_that_fails_leaves_the_event_unrecorded_for_stripes_redelivery(
    client: httpx.AsyncClient,
    runtime: Runtime,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    recorded_subscription_events: RecordingHandler,
) -> None:
    subscription_id = await subscribed(stripe_gateway)
    [paid] = of_type(fake_stripe.advance_period(subscription_id), "invoice.paid")
    recorded_subscription_events.fail_with = RuntimeError("billing is down")

    with pytest.raises(RuntimeError):
        await post_webhook(client, paid)
    assert await recorded_outcome(runtime, str(paid["id"])) is None

    recorded_subscription_events.fail_with = None
    assert await outcomes(client, [paid]) == ["recorded"]
    assert recorded_subscription_events.kinds() == ["invoice.paid"]


async def test_without_billings_handler_a_subscription_event_is_ignored(
    client: httpx.AsyncClient,
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subscriptions, "_handlers", [])
    subscription_id = await subscribed(stripe_gateway)
    events = fake_stripe.advance_period(subscription_id)

    assert set(await outcomes(client, events)) == {"ignored"}
