"""The Stripe adapter (the official SDK) against the fake Stripe HTTP server: what it sends,
what it makes of Stripe's answers, and what it does when the network or Stripe misbehave."""

from __future__ import annotations

import pytest
import stripe
from pydantic import SecretStr, ValidationError

from admitone.config import Settings
from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.payments.factory import build_gateway
from admitone.payments.gateway import ChargeRequest, ChargeStatus, CustomerRequest
from admitone.payments.stripe_gateway import StripeGateway, fee_in_charge_currency
from tests.payments.fake_stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    event_payload,
    sign_webhook,
)
from tests.payments.stripe_fixtures import STRIPE_TEST_TIMEOUT, make_stripe_gateway

# The SDK hands httpx its form body as text, which httpx 0.28 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

INTENTS = "/v1/payment_intents"


def request(
    key: str = "admitone-order-1-charge",
    method: str | None = "pm_card_visa",
    amount: int = 5000,
    customer_id: str | None = None,
) -> ChargeRequest:
    return ChargeRequest(
        amount,
        "USD",
        key,
        payment_method=method,
        description="admitone order ABC123",
        metadata={"order_id": "order-1", "reference": "ABC123"},
        customer_id=customer_id,
    )


async def test_a_fee_settled_in_another_currency_is_converted_at_stripes_rate(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.settle_in("eur", 0.9)

    charge = await stripe_gateway.create_charge(request())

    [transaction] = fake_stripe.balance_transactions()
    assert (transaction["currency"], transaction["amount"], transaction["fee"]) == (
        "eur",
        4500,
        160,
    )
    # 1.60 EUR at 0.9 EUR per USD is 1.7777... USD: 178 cents.
    assert (charge.currency, charge.fee, charge.fee_error) == ("USD", 178, None)


async def test_a_fee_in_another_currency_without_a_rate_is_reported_as_not_bookable(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.settle_in("eur", None)

    charge = await stripe_gateway.create_charge(request())

    assert charge.status is ChargeStatus.SUCCEEDED
    assert (charge.fee, charge.fee_error) == (None, "fee in EUR without an exchange rate")


@pytest.mark.parametrize(
    ("fee", "fee_currency", "charge_currency", "rate", "expected"),
    [
        (175, "usd", "usd", None, 175),  # no conversion
        (160, "eur", "usd", 0.9, 178),
        (49, "usd", "jpy", 0.0067, 73),  # 0.49 USD at 0.0067 USD per yen: 73.13 yen
        (5, "eur", "usd", 0.4, 13),  # 12.5 cents: halves away from zero
    ],
)
def test_a_fee_is_converted_to_the_charges_minor_units_halves_away_from_zero(
    fee: int, fee_currency: str, charge_currency: str, rate: float | None, expected: int
) -> None:
    assert fee_in_charge_currency(fee, fee_currency, charge_currency, rate) == (expected, None)


async def test_a_visa_card_succeeds_and_the_fee_comes_from_the_balance_transaction(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    charge = await stripe_gateway.create_charge(request())

    assert charge.status is ChargeStatus.SUCCEEDED
    assert (charge.amount, charge.currency, charge.payment_method) == (5000, "USD", "pm_card_visa")
    [transaction] = fake_stripe.balance_transactions()
    assert charge.fee == transaction["fee"] == 175
    assert charge.client_secret is None
    [sent] = fake_stripe.requests_to(INTENTS)
    assert sent.idempotency_key == "admitone-order-1-charge"
    assert sent.params["currency"] == "usd" and sent.params["confirm"] == "true"
    assert sent.params["metadata"] == {
        "order_id": "order-1",
        "reference": "ABC123",
        "idempotency_key": "admitone-order-1-charge",
    }
    assert sent.params["expand"] == ["latest_charge.balance_transaction"]
    assert fake_stripe.net_captured() == 5000


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
        ("pm_card_chargeDeclinedProcessingError", "processing_error"),
        # Never tell a buyer their card was flagged: a fraud decline reads as a plain decline.
        ("pm_card_chargeDeclinedFraudulent", "card_declined"),
    ],
)
async def test_each_decline_fails_the_charge_with_its_reason(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe, method: str, reason: str
) -> None:
    charge = await stripe_gateway.create_charge(request(method=method))

    assert (charge.status, charge.failure_reason) == (ChargeStatus.FAILED, reason)
    assert charge.id.startswith("pi_") and charge.fee is None
    assert fake_stripe.net_captured() == 0


async def test_without_a_payment_method_the_intent_waits_with_its_client_secret(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    intent = await stripe_gateway.create_charge(request(method=None))

    assert intent.status is ChargeStatus.REQUIRES_ACTION
    assert intent.client_secret and intent.client_secret.startswith(f"{intent.id}_secret_")
    assert "confirm" not in fake_stripe.requests_to(INTENTS)[0].params

    paid = await stripe_gateway.confirm_charge(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )

    assert paid.status is ChargeStatus.SUCCEEDED and paid.fee == 175
    [confirm] = fake_stripe.requests_to(f"{INTENTS}/pi_\\w+/confirm")
    assert confirm.idempotency_key == "confirm-1"
    again = await stripe_gateway.confirm_charge(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-2"
    )
    assert again.status is ChargeStatus.SUCCEEDED  # already paid: its state, not an error


async def test_a_card_that_needs_3d_secure_is_finished_by_the_buyer_then_retrieved(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    intent = await stripe_gateway.create_charge(request(method="pm_card_threeDSecure2Required"))
    assert intent.status is ChargeStatus.REQUIRES_ACTION and intent.client_secret

    fake_stripe.complete_in_browser(intent.id)

    paid = await stripe_gateway.retrieve_charge(intent.id)
    assert paid.status is ChargeStatus.SUCCEEDED and paid.fee == 175
    assert paid.idempotency_key == "admitone-order-1-charge"  # read back from the metadata


async def test_a_lost_answer_times_out_and_the_charge_is_found_by_its_key(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.hang_next(STRIPE_TEST_TIMEOUT + 0.5, path=INTENTS)

    with pytest.raises(GatewayTimeout):
        await stripe_gateway.create_charge(request())

    # The SDK retried once, with the same key, while the first request was still running.
    sent = fake_stripe.requests_to(INTENTS)
    assert [r.idempotency_key for r in sent] == ["admitone-order-1-charge"] * 2
    fake_stripe.wait_idle()
    found = await stripe_gateway.find_charge("admitone-order-1-charge")
    assert found is not None and found.status is ChargeStatus.SUCCEEDED and found.fee == 175
    assert len(fake_stripe.payment_intents()) == 1
    assert await stripe_gateway.find_charge("admitone-order-2-charge") is None


async def test_a_503_is_retried_with_the_same_key_and_charges_once(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(503)

    charge = await stripe_gateway.create_charge(request())

    assert charge.status is ChargeStatus.SUCCEEDED
    sent = fake_stripe.requests_to(INTENTS)
    assert len(sent) == 2 and sent[0] == sent[1]  # same params, same idempotency key
    assert len(fake_stripe.payment_intents()) == 1


async def test_a_dropped_connection_is_retried_and_stripe_replays_the_charge(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.drop_next(after_processing=True)

    charge = await stripe_gateway.create_charge(request())

    assert charge.status is ChargeStatus.SUCCEEDED
    assert len(fake_stripe.requests_to(INTENTS)) == 2
    assert len(fake_stripe.payment_intents()) == 1 and fake_stripe.net_captured() == 5000


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (503, GatewayUnavailable),
        (429, GatewayUnavailable),
        # Stripe documents a 500 as indeterminate: the charge may exist, so it is reconciled.
        (500, GatewayTimeout),
    ],
)
async def test_stripe_failing_every_attempt_maps_to_the_domain_error(
    stripe_gateway: StripeGateway,
    fake_stripe: FakeStripe,
    status: int,
    expected: type[GatewayError],
) -> None:
    fake_stripe.fail_next(status, count=5)

    with pytest.raises(expected):
        await stripe_gateway.create_charge(request())

    assert fake_stripe.payment_intents() == []


async def test_a_dropped_connection_on_every_attempt_is_an_unknown_outcome(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    fake_stripe.drop_next(count=5)

    with pytest.raises(GatewayTimeout):
        await stripe_gateway.create_charge(request())


async def test_a_refused_connection_is_unavailable(fake_stripe: FakeStripe) -> None:
    gateway = StripeGateway(
        SECRET_KEY, api_base="http://127.0.0.1:9", timeout_seconds=1, max_network_retries=0
    )
    try:
        with pytest.raises(GatewayUnavailable):
            await gateway.create_charge(request())
    finally:
        await gateway.aclose()


async def test_reusing_a_key_for_another_charge_is_refused(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    first = await stripe_gateway.create_charge(request())
    assert (await stripe_gateway.create_charge(request())).id == first.id

    with pytest.raises(GatewayError) as refused:
        await stripe_gateway.create_charge(request(amount=9999))

    assert refused.value.code == "idempotency_error"
    assert len(fake_stripe.payment_intents()) == 1


async def test_a_refund_carries_its_key_and_refunds_once(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    charge = await stripe_gateway.create_charge(request())

    first = await stripe_gateway.refund(charge.id, idempotency_key="admitone-order-1-refund")
    again = await stripe_gateway.refund(charge.id, idempotency_key="admitone-order-1-refund")

    assert first == again and (first.amount, first.currency, first.status) == (
        5000,
        "USD",
        "succeeded",
    )
    assert first.charge_id == charge.id
    sent = fake_stripe.requests_to("/v1/refunds")
    assert [r.idempotency_key for r in sent] == ["admitone-order-1-refund"] * 2
    assert len(fake_stripe.refunds()) == 1 and fake_stripe.net_captured() == 0
    assert (await stripe_gateway.retrieve_charge(charge.id)).amount_refunded == 5000
    with pytest.raises(GatewayError) as twice:
        await stripe_gateway.refund(charge.id, idempotency_key="another-key")
    assert twice.value.code == "charge_already_refunded"


async def test_a_partial_refund_leaves_the_rest(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    charge = await stripe_gateway.create_charge(request())

    refund = await stripe_gateway.refund(charge.id, idempotency_key="r-part", amount=1500)

    assert refund.amount == 1500 and fake_stripe.net_captured() == 3500
    assert fake_stripe.requests_to("/v1/refunds")[0].params["amount"] == "1500"


async def test_a_declined_charge_cannot_be_refunded(stripe_gateway: StripeGateway) -> None:
    charge = await stripe_gateway.create_charge(request(method="pm_card_chargeDeclined"))

    with pytest.raises(GatewayError) as refused:
        await stripe_gateway.refund(charge.id, idempotency_key="r")

    assert refused.value.code == "charge_not_refundable"


async def test_a_declined_intent_takes_another_card_until_it_is_cancelled(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    declined = await stripe_gateway.create_charge(request(method="pm_card_chargeDeclined"))
    assert declined.status is ChargeStatus.FAILED

    cancelled = await stripe_gateway.cancel_charge(declined.id, idempotency_key="cancel-1")

    assert (cancelled.status, cancelled.failure_reason) == (ChargeStatus.FAILED, "canceled")
    [sent] = fake_stripe.requests_to(f"{INTENTS}/pi_\\w+/cancel")
    assert sent.idempotency_key == "cancel-1"
    assert sent.params["cancellation_reason"] == "abandoned"
    assert fake_stripe.get(declined.id)["status"] == "canceled"
    retried = await stripe_gateway.confirm_charge(
        declined.id, payment_method="pm_card_visa", idempotency_key="confirm-after-cancel"
    )
    assert retried.status is ChargeStatus.FAILED and fake_stripe.net_captured() == 0
    again = await stripe_gateway.cancel_charge(declined.id, idempotency_key="cancel-2")
    assert again.failure_reason == "canceled"  # cancelled before: its state, not an error


async def test_cancelling_an_intent_that_already_succeeded_answers_it_succeeded(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    intent = await stripe_gateway.create_charge(request(method=None))
    fake_stripe.complete_in_browser(intent.id)  # the buyer paid as we gave up on the order

    answer = await stripe_gateway.cancel_charge(intent.id, idempotency_key="cancel-1")

    assert answer.status is ChargeStatus.SUCCEEDED and answer.fee == 175
    assert fake_stripe.get(intent.id)["status"] == "succeeded"
    assert fake_stripe.net_captured() == 5000


async def test_an_unknown_intent_is_resource_missing(stripe_gateway: StripeGateway) -> None:
    with pytest.raises(GatewayError) as missing:
        await stripe_gateway.retrieve_charge("pi_nope")

    assert missing.value.code == "resource_missing"


async def test_a_customer_is_created_once_per_key_and_charged_with(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = CustomerRequest("user-1", "ann@example.com", "Ann", "admitone-user-1-customer")

    first = await stripe_gateway.create_customer(customer)
    second = await stripe_gateway.create_customer(customer)
    await stripe_gateway.create_charge(request(customer_id=first))

    assert first == second and len(fake_stripe.customers()) == 1
    [intent] = fake_stripe.payment_intents()
    assert intent["customer"] == first
    assert fake_stripe.requests_to("/v1/customers")[0].idempotency_key == (
        "admitone-user-1-customer"
    )


async def test_a_timeout_per_attempt_bounds_every_call(fake_stripe: FakeStripe) -> None:
    gateway = make_stripe_gateway(fake_stripe, timeout=0.2, retries=0)
    fake_stripe.hang_next(1.0, path=f"{INTENTS}/search", process=False)
    try:
        with pytest.raises(GatewayTimeout):
            await gateway.find_charge("k")
    finally:
        await gateway.aclose()


def test_settings_choose_stripe_and_keep_its_keys_out_of_sight() -> None:
    settings = Settings(payment_gateway="stripe", stripe_secret_key=SecretStr(SECRET_KEY))

    gateway = build_gateway(settings)

    assert isinstance(gateway, StripeGateway)
    assert SECRET_KEY not in repr(settings) and SECRET_KEY not in repr(gateway)
    with pytest.raises(ValidationError):
        Settings(payment_gateway="stripe")
    assert Settings().payment_gateway == "fake"


async def test_events_are_built_and_signed_the_way_the_sdk_verifies_them(
    stripe_gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    charge = await stripe_gateway.create_charge(request())
    [sent] = fake_stripe.events_of("payment_intent.succeeded")
    assert sent["data"]["object"]["id"] == charge.id
    payload = event_payload(fake_stripe.event_for("payment_intent.succeeded", charge.id))

    event = stripe.Webhook.construct_event(payload, sign_webhook(payload), WEBHOOK_SECRET)

    assert event.type == "payment_intent.succeeded"
    assert event.data.object["metadata"]["order_id"] == "order-1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            payload, sign_webhook(payload, "whsec_forged"), WEBHOOK_SECRET
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stale = sign_webhook(payload, timestamp=1_600_000_000)
        stripe.Webhook.construct_event(payload, stale, WEBHOOK_SECRET)
