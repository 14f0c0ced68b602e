"""The fake gateway behaves like Stripe's test mode, and its own failure switches do what
the ticketing tests rely on."""

from __future__ import annotations

import asyncio

import pytest

from admitone.config import Settings
from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.payments.factory import build_gateway
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import ChargeRequest, ChargeStatus


def request(
    key: str = "k1", method: str | None = "pm_card_visa", amount: int = 5000
) -> ChargeRequest:
    return ChargeRequest(amount, "USD", key, payment_method=method, metadata={"order_id": "o1"})


async def test_a_visa_test_card_succeeds() -> None:
    gateway = FakeGateway()
    charge = await gateway.create_charge(request())
    assert charge.status is ChargeStatus.SUCCEEDED and charge.amount == 5000
    assert gateway.net_captured() == 5000


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
async def test_declining_test_cards_fail_with_their_reason(method: str, reason: str) -> None:
    gateway = FakeGateway()
    charge = await gateway.create_charge(request(method=method))
    assert (charge.status, charge.failure_reason) == (ChargeStatus.FAILED, reason)
    assert gateway.net_captured() == 0


async def test_a_timeout_charges_nothing_and_a_lost_answer_charges_once() -> None:
    gateway = FakeGateway()
    with pytest.raises(GatewayTimeout):
        await gateway.create_charge(request("a", "pm_card_timeout"))
    assert await gateway.find_charge("a") is None
    with pytest.raises(GatewayTimeout):
        await gateway.create_charge(request("b", "pm_card_timeoutAfterCharge"))
    found = await gateway.find_charge("b")
    assert found is not None and found.status is ChargeStatus.SUCCEEDED


async def test_the_same_idempotency_key_answers_the_same_charge() -> None:
    gateway = FakeGateway()
    first, second = await asyncio.gather(
        gateway.create_charge(request()), gateway.create_charge(request())
    )
    assert first == second and len(gateway.charges) == 1
    with pytest.raises(GatewayError) as reused:
        await gateway.create_charge(request(amount=9999))
    assert reused.value.code == "idempotency_error"


async def test_a_refund_key_refunds_once_however_often_it_is_sent() -> None:
    gateway = FakeGateway()
    charge = await gateway.create_charge(request())
    refunds = await asyncio.gather(
        *(gateway.refund(charge.id, idempotency_key="r1") for _ in range(5))
    )
    assert len({r.id for r in refunds}) == 1 and len(gateway.refunds) == 1
    assert gateway.net_captured() == 0
    with pytest.raises(GatewayError) as again:
        await gateway.refund(charge.id, idempotency_key="r2")
    assert again.value.code == "charge_already_refunded"


async def test_a_declined_charge_cannot_be_refunded() -> None:
    gateway = FakeGateway()
    charge = await gateway.create_charge(request(method="pm_card_chargeDeclined"))
    with pytest.raises(GatewayError):
        await gateway.refund(charge.id, idempotency_key="r")


async def test_without_a_method_a_payment_intent_waits_for_confirmation() -> None:
    gateway = FakeGateway()
    intent = await gateway.create_charge(request(method=None))
    assert intent.status is ChargeStatus.REQUIRES_ACTION and intent.client_secret
    confirmed = await gateway.confirm_charge(
        intent.id, payment_method="pm_card_visa", idempotency_key="c"
    )
    assert confirmed.status is ChargeStatus.SUCCEEDED
    assert (await gateway.retrieve_charge(intent.id)).status is ChargeStatus.SUCCEEDED


async def test_the_default_card_stands_in_for_a_missing_method() -> None:
    gateway = FakeGateway(default_payment_method="pm_card_visa")
    assert (await gateway.create_charge(request(method=None))).status is ChargeStatus.SUCCEEDED


async def test_failure_modes_apply_to_every_call() -> None:
    gateway = FakeGateway()
    gateway.set_failure_mode("unavailable")
    with pytest.raises(GatewayUnavailable):
        await gateway.create_charge(request())
    gateway.set_failure_mode("card_declined")
    assert (await gateway.create_charge(request("k2"))).failure_reason == "card_declined"
    gateway.set_failure_mode(None)
    assert (await gateway.create_charge(request("k3"))).status is ChargeStatus.SUCCEEDED


async def test_an_unknown_payment_method_is_refused() -> None:
    with pytest.raises(GatewayError) as refused:
        await FakeGateway().create_charge(request(method="pm_nonsense"))
    assert refused.value.code == "payment_method_unknown"


def test_settings_build_the_fake_with_its_latency() -> None:
    gateway = build_gateway(Settings(fake_gateway_latency_ms=100))
    assert isinstance(gateway, FakeGateway) and gateway.latency_seconds == pytest.approx(0.1)


async def test_a_declined_charge_takes_another_card_until_it_is_cancelled() -> None:
    gateway = FakeGateway()
    declined = await gateway.create_charge(request(method="pm_card_chargeDeclined"))

    retried = await gateway.confirm_charge(
        declined.id, payment_method="pm_card_visa", idempotency_key="c1"
    )
    assert retried.status is ChargeStatus.SUCCEEDED and retried.failure_reason is None

    other = await gateway.create_charge(request("k2", method=None))
    cancelled = await gateway.cancel_charge(other.id, idempotency_key="x")
    assert (cancelled.status, cancelled.failure_reason) == (ChargeStatus.FAILED, "canceled")
    late = await gateway.confirm_charge(
        other.id, payment_method="pm_card_visa", idempotency_key="c2"
    )
    assert late.status is ChargeStatus.FAILED and gateway.net_captured() == 5000


async def test_a_succeeded_charge_cannot_be_cancelled_and_says_so() -> None:
    gateway = FakeGateway()
    paid = await gateway.create_charge(request())

    answer = await gateway.cancel_charge(paid.id, idempotency_key="x")

    assert answer.status is ChargeStatus.SUCCEEDED and gateway.net_captured() == 5000
