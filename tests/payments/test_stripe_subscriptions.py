"""Stripe Subscriptions through the adapter (the official SDK) against the fake Stripe HTTP
server: what is sent to create, cancel and read one, what comes back for the first period, and
what a down gateway and a retry by the same key do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from admitone.payments.errors import GatewayError, GatewayUnavailable
from admitone.payments.gateway import ChargeStatus, CustomerRequest
from admitone.payments.stripe_gateway import StripeGateway
from admitone.payments.subscriptions import (
    GatewaySubscriptionStatus,
    PlanPrice,
    SubscriptionGateway,
    SubscriptionRequest,
)
from tests.payments.fake_stripe import FakeStripe
from tests.payments.stripe_fixtures import make_stripe_gateway

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

PLAN = PlanPrice("plan-gold", "Gold membership", 1500, "EUR", "month")
SUBSCRIPTIONS = "/v1/subscriptions"


async def a_customer(gateway: StripeGateway) -> str:
    return await gateway.create_customer(
        CustomerRequest("user-1", "ann@example.com", "Ann", "admitone-user-1-customer")
    )


def subscribe(
    customer_id: str | None,
    *,
    key: str = "admitone-subscription-1-create",
    payment_method: str | None = None,
    trial_days: int = 0,
) -> SubscriptionRequest:
    return SubscriptionRequest(
        PLAN,
        key,
        customer_id=customer_id,
        payment_method=payment_method,
        trial_days=trial_days,
        metadata={"subscription_id": "sub-1"},
    )


def test_the_stripe_gateway_bills_each_period_itself(stripe_gateway: StripeGateway) -> None:
    assert isinstance(stripe_gateway, SubscriptionGateway)
    assert stripe_gateway.bills_periods is True


async def test_without_a_card_the_first_period_waits_for_the_buyer_with_its_client_secret(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)

    subscription = await stripe_gateway.create_subscription(subscribe(customer))

    assert subscription.status is GatewaySubscriptionStatus.INCOMPLETE
    [intent] = fake_stripe.payment_intents()
    assert subscription.client_secret == intent["client_secret"]
    assert subscription.latest_charge is None
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=30)
    assert subscription.metadata == {
        "subscription_id": "sub-1",
        "idempotency_key": "admitone-subscription-1-create",
    }
    [sent] = fake_stripe.requests_to(SUBSCRIPTIONS)
    assert sent.idempotency_key == "admitone-subscription-1-create"
    assert sent.params["customer"] == customer
    assert sent.params["payment_behavior"] == "default_incomplete"
    assert sent.params["items"] == [
        {
            "price_data": {
                "currency": "eur",
                "unit_amount": "1500",
                "recurring": {"interval": "month"},
                "product": "admitone_plan_plan-gold",
            }
        }
    ]
    assert "trial_period_days" not in sent.params

    fake_stripe.complete_in_browser(intent["id"])
    paid = await stripe_gateway.retrieve_subscription(subscription.id)
    assert (paid.status, paid.client_secret) == (GatewaySubscriptionStatus.ACTIVE, None)


async def test_with_a_card_the_first_period_is_charged_at_once(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)

    subscription = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method="pm_card_visa")
    )

    assert subscription.status is GatewaySubscriptionStatus.ACTIVE
    assert subscription.client_secret is None
    charge = subscription.latest_charge
    assert charge is not None
    assert (charge.status, charge.amount, charge.currency) == (
        ChargeStatus.SUCCEEDED,
        1500,
        "EUR",
    )
    assert charge.fee is not None
    [sent] = fake_stripe.requests_to(SUBSCRIPTIONS)
    assert (sent.params["default_payment_method"], sent.params["payment_behavior"]) == (
        "pm_card_visa",
        "allow_incomplete",
    )
    assert fake_stripe.net_captured() == 1500


@pytest.mark.parametrize(
    ("card", "charge_status", "reason"),
    [
        ("pm_card_threeDSecure2Required", ChargeStatus.REQUIRES_ACTION, None),
        ("pm_card_chargeDeclinedInsufficientFunds", ChargeStatus.FAILED, "insufficient_funds"),
    ],
)
async def test_a_card_that_needs_the_buyer_or_is_declined_leaves_it_incomplete_for_the_browser(
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    card: str,
    charge_status: ChargeStatus,
    reason: str | None,
) -> None:
    customer = await a_customer(stripe_gateway)

    subscription = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method=card)
    )

    assert subscription.status is GatewaySubscriptionStatus.INCOMPLETE
    [intent] = fake_stripe.payment_intents()
    assert subscription.client_secret == intent["client_secret"]
    assert subscription.latest_charge is not None
    assert subscription.latest_charge.status is charge_status
    assert subscription.latest_charge.failure_reason == reason
    assert fake_stripe.net_captured() == 0


async def test_a_trial_charges_nothing_until_it_ends(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)

    subscription = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method="pm_card_visa", trial_days=14)
    )

    assert subscription.status is GatewaySubscriptionStatus.TRIALING
    assert subscription.current_period_end - subscription.current_period_start == timedelta(days=14)
    assert (subscription.client_secret, subscription.latest_charge) == (None, None)
    assert fake_stripe.payment_intents() == []
    [sent] = fake_stripe.requests_to(SUBSCRIPTIONS)
    assert sent.params["trial_period_days"] == "14"


async def test_a_plans_product_is_created_once_even_by_another_process(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)
    await stripe_gateway.create_subscription(subscribe(customer, key="k1"))
    await stripe_gateway.create_subscription(subscribe(customer, key="k2"))
    other = make_stripe_gateway(fake_stripe)
    try:
        await other.create_subscription(subscribe(customer, key="k3"))
    finally:
        await other.aclose()

    [product] = fake_stripe.products()
    assert (product["id"], product["name"]) == ("admitone_plan_plan-gold", "Gold membership")
    assert {r.idempotency_key for r in fake_stripe.requests_to("/v1/products")} == {
        "admitone-plan-plan-gold-product"
    }
    assert len(fake_stripe.subscriptions()) == 3


async def test_a_subscription_needs_a_customer_at_stripe(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(GatewayError) as raised:
        await stripe_gateway.create_subscription(subscribe(None))

    assert raised.value.code == "customer_required"
    assert fake_stripe.requests == []


async def test_cancelling_at_the_period_end_keeps_it_active_until_then(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)
    created = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method="pm_card_visa")
    )

    cancelled = await stripe_gateway.cancel_subscription(
        created.id, at_period_end=True, idempotency_key="admitone-subscription-1-cancel"
    )
    again = await stripe_gateway.cancel_subscription(
        created.id, at_period_end=True, idempotency_key="admitone-subscription-1-cancel"
    )

    assert (cancelled.status, cancelled.cancel_at_period_end) == (
        GatewaySubscriptionStatus.ACTIVE,
        True,
    )
    assert again == cancelled
    assert cancelled.current_period_end == created.current_period_end
    [sent, _] = fake_stripe.requests_to(f"{SUBSCRIPTIONS}/sub_.*")
    assert sent.params["cancel_at_period_end"] == "true"
    assert sent.idempotency_key == "admitone-subscription-1-cancel"


async def test_cancelling_now_ends_it_and_cancelling_again_answers_it_cancelled(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)
    created = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method="pm_card_visa")
    )

    cancelled = await stripe_gateway.cancel_subscription(
        created.id, at_period_end=False, idempotency_key="cancel-1"
    )
    again = await stripe_gateway.cancel_subscription(
        created.id, at_period_end=False, idempotency_key="cancel-2"
    )
    at_end = await stripe_gateway.cancel_subscription(
        created.id, at_period_end=True, idempotency_key="cancel-3"
    )

    assert cancelled.status is GatewaySubscriptionStatus.CANCELED
    assert again.status is at_end.status is GatewaySubscriptionStatus.CANCELED
    assert len(fake_stripe.requests_to(f"{SUBSCRIPTIONS}/sub_.*", "DELETE")) == 2
    assert [e["type"] for e in fake_stripe.events_of("customer.subscription.deleted")] == [
        "customer.subscription.deleted"
    ]


async def test_an_unknown_subscription_is_resource_missing(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(GatewayError) as raised:
        await stripe_gateway.retrieve_subscription("sub_unknown")
    assert raised.value.code == "resource_missing"

    with pytest.raises(GatewayError) as cancelled:
        await stripe_gateway.cancel_subscription(
            "sub_unknown", at_period_end=False, idempotency_key="cancel-unknown"
        )
    assert cancelled.value.code == "resource_missing"


async def test_stripe_down_is_unavailable_and_the_retry_by_the_same_key_creates_one(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)
    fake_stripe.fail_next(503, count=2, path=SUBSCRIPTIONS)  # the call and the SDK's retry

    with pytest.raises(GatewayUnavailable):
        await stripe_gateway.create_subscription(subscribe(customer))
    subscription = await stripe_gateway.create_subscription(subscribe(customer))
    replayed = await stripe_gateway.create_subscription(subscribe(customer))

    assert replayed.id == subscription.id
    assert [s["id"] for s in fake_stripe.subscriptions()] == [subscription.id]
    assert {r.idempotency_key for r in fake_stripe.requests_to(SUBSCRIPTIONS)} == {
        "admitone-subscription-1-create"
    }


async def test_a_lost_answer_is_retried_by_the_sdk_and_stripe_replays_the_subscription(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = await a_customer(stripe_gateway)
    fake_stripe.drop_next(path=SUBSCRIPTIONS, after_processing=True)

    subscription = await stripe_gateway.create_subscription(
        subscribe(customer, payment_method="pm_card_visa")
    )

    assert [s["id"] for s in fake_stripe.subscriptions()] == [subscription.id]
    assert len(fake_stripe.requests_to(SUBSCRIPTIONS)) == 2
    assert fake_stripe.net_captured() == 1500
