"""A stateful, in-memory ``PaymentGateway`` for development and tests (one per process).

It honours Stripe's test payment methods, so code written against it behaves the same against
Stripe in test mode, plus two of its own for what Stripe cannot be asked to do on demand: a
request that never gets an answer (``pm_card_timeout``) and one whose answer is lost after the
money moved (``pm_card_timeoutAfterCharge``). ``set_failure_mode`` forces an outcome for every
call, whatever the method (the seed's ``Gateway.Mock.set_failure_mode(:card_declined)``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Literal

from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.payments.gateway import CANCELED, Charge, ChargeRequest, ChargeStatus, Refund
from admitone.payments.subscriptions import (
    GatewaySubscription,
    GatewaySubscriptionStatus,
    SubscriptionRequest,
)

SUCCEEDS = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover"})
DECLINES = {
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
    "pm_card_chargeDeclinedIncorrectCvc": "incorrect_cvc",
    "pm_card_chargeDeclinedProcessingError": "processing_error",
    "pm_card_chargeDeclinedFraudulent": "fraudulent",
}
NEEDS_ACTION = frozenset({"pm_card_threeDSecure2Required", "pm_card_authenticationRequired"})
TIMES_OUT = "pm_card_timeout"
TIMES_OUT_AFTER_CHARGE = "pm_card_timeoutAfterCharge"

FailureMode = Literal[
    "card_declined", "insufficient_funds", "timeout", "timeout_after_charge", "unavailable"
]


class FakeGateway:
    name = "fake"
    # The fake only records subscriptions: billing's renewal job charges each period itself.
    bills_periods = False

    def __init__(
        self, *, latency_seconds: float = 0.0, default_payment_method: str | None = None
    ) -> None:
        self.latency_seconds = latency_seconds
        # A purchase body may name no payment method; a dev box has no browser to collect
        # one, so the fake can stand in for a buyer who pays with this test card.
        self.default_payment_method = default_payment_method
        self.failure_mode: FailureMode | None = None
        self._charges: dict[str, Charge] = {}
        self._refunds: dict[str, Refund] = {}
        self._charge_keys: dict[str, tuple[str, str]] = {}  # key -> (request digest, charge id)
        self._refund_keys: dict[str, tuple[str, str]] = {}
        self._subscriptions: dict[str, GatewaySubscription] = {}
        self._subscription_keys: dict[str, str] = {}  # key -> subscription id
        self._ids = count(1)
        # Stripe's ids are unique across every client; so are these across processes (two app
        # processes in one test share a database and its ledger, keyed by these ids).
        self._instance = secrets.token_hex(3)
        self.calls: list[str] = []

    # -- test controls and inspection -------------------------------------------------------

    def set_failure_mode(self, mode: FailureMode | None) -> None:
        self.failure_mode = mode

    @property
    def charges(self) -> list[Charge]:
        return list(self._charges.values())

    @property
    def refunds(self) -> list[Refund]:
        return list(self._refunds.values())

    def succeeded_charges(self) -> list[Charge]:
        return [c for c in self._charges.values() if c.status is ChargeStatus.SUCCEEDED]

    def refunds_of(self, charge_id: str) -> list[Refund]:
        return [r for r in self._refunds.values() if r.charge_id == charge_id]

    def net_captured(self) -> int:
        """Money kept: what succeeded minus what was refunded, over every charge."""
        return sum(c.amount - c.amount_refunded for c in self.succeeded_charges())

    def reset(self) -> None:
        self.failure_mode = None
        self._charges.clear()
        self._refunds.clear()
        self._charge_keys.clear()
        self._refund_keys.clear()
        self._subscriptions.clear()
        self._subscription_keys.clear()
        self.calls.clear()

    # -- PaymentGateway ---------------------------------------------------------------------

    async def create_charge(self, request: ChargeRequest) -> Charge:
        self.calls.append("create_charge")
        await self._wait()
        # Everything below runs without an await, so concurrent calls see each other whole.
        digest = _digest(
            request.amount, request.currency, request.payment_method, dict(request.metadata)
        )
        known = self._charge_keys.get(request.idempotency_key)
        if known is not None:
            if known[0] != digest:
                raise GatewayError(
                    "idempotency_error", "idempotency key reused with other parameters"
                )
            return self._charges[known[1]]
        method = request.payment_method or (
            None if request.buyer_confirms else self.default_payment_method
        )
        outcome = self._outcome(method)
        if outcome == "timeout":
            raise GatewayTimeout()
        if outcome == "unavailable":
            raise GatewayUnavailable()
        charge = Charge(
            id=f"pi_fake_{self._instance}{next(self._ids):06d}",
            amount=request.amount,
            currency=request.currency,
            status=ChargeStatus.SUCCEEDED,
            idempotency_key=request.idempotency_key,
            payment_method=method,
            metadata=dict(request.metadata),
        )
        if outcome in ("succeeded", "timeout_after_charge"):
            charge = replace(charge, fee=fake_fee(request.amount))
        if outcome == "requires_action":
            charge = replace(
                charge, status=ChargeStatus.REQUIRES_ACTION, client_secret=f"{charge.id}_secret"
            )
        elif outcome not in ("succeeded", "timeout_after_charge"):
            charge = replace(charge, status=ChargeStatus.FAILED, failure_reason=outcome)
        self._charges[charge.id] = charge
        self._charge_keys[request.idempotency_key] = (digest, charge.id)
        if outcome == "timeout_after_charge":
            raise GatewayTimeout("the answer was lost after the charge went through")
        return charge

    async def confirm_charge(
        self, charge_id: str, *, payment_method: str, idempotency_key: str
    ) -> Charge:
        self.calls.append("confirm_charge")
        await self._wait()
        charge = self._get(charge_id)
        if not _confirmable(charge):
            return charge
        outcome = self._outcome(payment_method)
        if outcome in ("timeout", "timeout_after_charge"):
            raise GatewayTimeout()
        if outcome == "unavailable":
            raise GatewayUnavailable()
        if outcome in ("succeeded", "requires_action"):
            # The buyer completed the 3-D Secure step: the card is authenticated now.
            charge = replace(
                charge,
                status=ChargeStatus.SUCCEEDED,
                payment_method=payment_method,
                failure_reason=None,
                fee=fake_fee(charge.amount),
            )
        else:
            charge = replace(charge, status=ChargeStatus.FAILED, failure_reason=outcome)
        self._charges[charge.id] = charge
        return charge

    async def cancel_charge(self, charge_id: str, *, idempotency_key: str) -> Charge:
        self.calls.append("cancel_charge")
        await self._wait()
        if self.failure_mode in ("timeout", "timeout_after_charge"):
            raise GatewayTimeout()
        if self.failure_mode == "unavailable":
            raise GatewayUnavailable()
        charge = self._get(charge_id)
        if charge.status is ChargeStatus.SUCCEEDED:
            return charge  # the money is taken: too late to cancel, and the answer says so
        charge = replace(
            charge, status=ChargeStatus.FAILED, failure_reason=CANCELED, client_secret=None
        )
        self._charges[charge.id] = charge
        return charge

    async def retrieve_charge(self, charge_id: str) -> Charge:
        await self._wait()
        return self._get(charge_id)

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        await self._wait()
        known = self._charge_keys.get(idempotency_key)
        return self._charges[known[1]] if known else None

    async def refund(
        self, charge_id: str, *, idempotency_key: str, amount: int | None = None
    ) -> Refund:
        self.calls.append("refund")
        await self._wait()
        digest = _digest(charge_id, amount)
        known = self._refund_keys.get(idempotency_key)
        if known is not None:
            if known[0] != digest:
                raise GatewayError(
                    "idempotency_error", "idempotency key reused with other parameters"
                )
            return self._refunds[known[1]]
        if self.failure_mode in ("timeout", "timeout_after_charge"):
            raise GatewayTimeout()
        if self.failure_mode == "unavailable":
            raise GatewayUnavailable()
        charge = self._get(charge_id)
        if charge.status is not ChargeStatus.SUCCEEDED:
            raise GatewayError("charge_not_refundable", f"charge {charge_id} was not paid")
        left = charge.amount - charge.amount_refunded
        wanted = left if amount is None else amount
        if left == 0:
            raise GatewayError("charge_already_refunded", f"charge {charge_id} is refunded")
        if not 0 < wanted <= left:
            raise GatewayError("amount_too_large", "the refund exceeds what is left to refund")
        refund = Refund(
            id=f"re_fake_{self._instance}{next(self._ids):06d}",
            charge_id=charge_id,
            amount=wanted,
            currency=charge.currency,
            idempotency_key=idempotency_key,
        )
        self._refunds[refund.id] = refund
        self._refund_keys[idempotency_key] = (digest, refund.id)
        self._charges[charge_id] = replace(charge, amount_refunded=charge.amount_refunded + wanted)
        return refund

    # -- SubscriptionGateway ----------------------------------------------------------------

    @property
    def subscriptions(self) -> list[GatewaySubscription]:
        return list(self._subscriptions.values())

    async def create_subscription(self, request: SubscriptionRequest) -> GatewaySubscription:
        self.calls.append("create_subscription")
        await self._wait()
        known = self._subscription_keys.get(request.idempotency_key)
        if known is not None:
            return self._subscriptions[known]
        self._refuse_when_down()
        # Its periods are only a record: billing keeps the ones it charges by.
        start = datetime.now(UTC)
        trial = request.trial_days > 0
        end = start + timedelta(days=request.trial_days if trial else _DAYS[request.plan.interval])
        subscription = GatewaySubscription(
            id=f"sub_fake_{self._instance}{next(self._ids):06d}",
            status=(
                GatewaySubscriptionStatus.TRIALING if trial else GatewaySubscriptionStatus.ACTIVE
            ),
            current_period_start=start,
            current_period_end=end,
            metadata=dict(request.metadata),
        )
        self._subscriptions[subscription.id] = subscription
        self._subscription_keys[request.idempotency_key] = subscription.id
        return subscription

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> GatewaySubscription:
        self.calls.append("cancel_subscription")
        await self._wait()
        subscription = self._subscription(subscription_id)
        if subscription.status is GatewaySubscriptionStatus.CANCELED:
            return subscription
        self._refuse_when_down()
        if at_period_end:
            subscription = replace(subscription, cancel_at_period_end=True)
        else:
            subscription = replace(subscription, status=GatewaySubscriptionStatus.CANCELED)
        self._subscriptions[subscription_id] = subscription
        return subscription

    async def retrieve_subscription(self, subscription_id: str) -> GatewaySubscription:
        await self._wait()
        return self._subscription(subscription_id)

    def _subscription(self, subscription_id: str) -> GatewaySubscription:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            raise GatewayError("resource_missing", f"no such subscription: {subscription_id}")
        return subscription

    def _refuse_when_down(self) -> None:
        if self.failure_mode in ("timeout", "timeout_after_charge"):
            raise GatewayTimeout()
        if self.failure_mode == "unavailable":
            raise GatewayUnavailable()

    # -- internals --------------------------------------------------------------------------

    async def _wait(self) -> None:
        if self.latency_seconds > 0:
            await asyncio.sleep(self.latency_seconds)

    def _outcome(self, method: str | None) -> str:
        if self.failure_mode is not None:
            return self.failure_mode
        if method is None:
            return "requires_action"
        if method in SUCCEEDS:
            return "succeeded"
        if method in NEEDS_ACTION:
            return "requires_action"
        if method == TIMES_OUT:
            return "timeout"
        if method == TIMES_OUT_AFTER_CHARGE:
            return "timeout_after_charge"
        if method in DECLINES:
            return DECLINES[method]
        raise GatewayError("payment_method_unknown", f"no such payment method: {method}")

    def _get(self, charge_id: str) -> Charge:
        charge = self._charges.get(charge_id)
        if charge is None:
            raise GatewayError("resource_missing", f"no such charge: {charge_id}")
        return charge


_DAYS = {"month": 30, "year": 365}


def _confirmable(charge: Charge) -> bool:
    """Waiting for the buyer, or declined: like a Stripe intent back in
    ``requires_payment_method``, a declined charge takes another try until it is cancelled."""
    if charge.status is ChargeStatus.REQUIRES_ACTION:
        return True
    return charge.status is ChargeStatus.FAILED and charge.failure_reason != CANCELED


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def fake_fee(amount: int) -> int:
    """Stripe's card pricing (2.9% + 30 minor units), so the ledger sees real-looking fees."""
    return round(amount * 0.029) + 30
