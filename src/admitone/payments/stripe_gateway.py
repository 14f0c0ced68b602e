"""The ``PaymentGateway`` on Stripe, through the official SDK's async client.

A charge is a PaymentIntent. With a payment method it is confirmed in the same call (the
synchronous charge); without one it answers ``requires_action`` with the client secret that
Stripe.js confirms in the browser (the payment-intent flow). The intent's metadata carries the
order and the idempotency key, so ``find_charge`` can look up, by Stripe's Search API, a charge
whose answer was lost. The processing fee is the fee of the latest charge's balance transaction,
expanded in the same call, converted to the charge's currency when the account settles in
another.

A subscription (``SubscriptionGateway``) is a Stripe Subscription of an inline price on the
plan's Product, a Product created once per plan under an id derived from the plan's. Stripe
bills each period itself and says so by webhook (``subscription_webhooks``); its objects are
read by ``stripe_subscription_shapes``, whichever API version wrote them.

Every money-moving call carries the caller's idempotency key, so the SDK's own retries
(connection errors, timeouts, 409, 5xx; ``max_network_retries``) and the caller's later retries
never charge or refund twice. Each attempt has ``timeout_seconds``. Errors are mapped in
``stripe_errors``. Nothing here logs a key, a card or a client secret.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import stripe
import structlog

from admitone.config import Settings
from admitone.core.money import exponent
from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.payments.gateway import (
    CANCELED,
    Charge,
    ChargeRequest,
    ChargeStatus,
    CustomerRequest,
    Refund,
)
from admitone.payments.stripe_errors import decline_reason, to_gateway_error
from admitone.payments.stripe_subscription_shapes import (
    first_invoice_client_secret,
    id_of,
    invoice_payment_intent_id,
    subscription_of,
)
from admitone.payments.subscriptions import (
    GatewaySubscription,
    GatewaySubscriptionStatus,
    PlanPrice,
    SubscriptionRequest,
)

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        PaymentIntentCancelParams,
        PaymentIntentConfirmParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
        SubscriptionCreateParams,
    )

log = structlog.get_logger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
# The fee lives on the charge's balance transaction; expanding it saves a second round trip.
FEE_PATH = "latest_charge.balance_transaction"
IDEMPOTENCY_METADATA_KEY = "idempotency_key"
# Stripe's refusal of a confirm or cancel that the intent's status does not allow.
UNEXPECTED_STATE = "payment_intent_unexpected_state"
_WAITING = frozenset({"requires_action", "requires_confirmation", "requires_payment_method"})
# The first invoice's client secret (or, with its payments, the charge that paid it) in the
# answer of the call that creates, reads or ends a subscription.
SUBSCRIPTION_EXPAND = ("latest_invoice.confirmation_secret", "latest_invoice.payments")


class StripeGateway:
    name = "stripe"
    bills_periods = True

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout_seconds: float = 10.0,
        max_network_retries: int = 2,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        # At DEBUG the SDK logs whole request bodies (buyers' emails and names, payment method
        # ids): whatever the application's level, the SDK's own logger stops at INFO.
        sdk_log = logging.getLogger("stripe")
        sdk_log.setLevel(max(sdk_log.level, logging.INFO))
        self._http = http_client or stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            http_client=self._http,
            base_addresses={"api": api_base},
            max_network_retries=max_network_retries,
        )
        self._products: set[str] = set()  # the plans' Products known to exist

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeGateway:
        if settings.stripe_secret_key is None:
            raise ValueError("ADMITONE_STRIPE_SECRET_KEY is not set")
        return cls(
            settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
        )

    def __repr__(self) -> str:
        return "StripeGateway()"  # never the key

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # the SDK leaves it bare

    # -- PaymentGateway ---------------------------------------------------------------------

    async def create_charge(self, request: ChargeRequest) -> Charge:
        params: PaymentIntentCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "metadata": {
                **request.metadata,
                IDEMPOTENCY_METADATA_KEY: request.idempotency_key,
            },
            # Cards and wallets, confirmable from the server: a redirect-based method would
            # need a return_url that a synchronous API purchase does not have.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "expand": [FEE_PATH],
        }
        if request.description:
            params["description"] = request.description
        if request.customer_id:
            params["customer"] = request.customer_id
        if request.payment_method:
            params["payment_method"] = request.payment_method
            params["confirm"] = True
        return await self._intent(
            "create_charge",
            self._client.v1.payment_intents.create_async(
                params, {"idempotency_key": request.idempotency_key}
            ),
            request.idempotency_key,
        )

    async def confirm_charge(
        self, charge_id: str, *, payment_method: str, idempotency_key: str
    ) -> Charge:
        params: PaymentIntentConfirmParams = {
            "payment_method": payment_method,
            "expand": [FEE_PATH],
        }
        # Already succeeded or cancelled (a webhook or another tab got there first): its
        # current state is the answer, as with a second confirm of the fake.
        return await self._intent_or_current_state(
            "confirm_charge",
            charge_id,
            self._client.v1.payment_intents.confirm_async(
                charge_id, params, {"idempotency_key": idempotency_key}
            ),
            idempotency_key,
        )

    async def cancel_charge(self, charge_id: str, *, idempotency_key: str) -> Charge:
        params: PaymentIntentCancelParams = {
            "cancellation_reason": "abandoned",
            "expand": [FEE_PATH],
        }
        # Succeeded (too late to cancel: the caller settles or refunds it) or cancelled before:
        # its current state is the answer.
        return await self._intent_or_current_state(
            "cancel_charge",
            charge_id,
            self._client.v1.payment_intents.cancel_async(
                charge_id, params, {"idempotency_key": idempotency_key}
            ),
            idempotency_key,
        )

    async def retrieve_charge(self, charge_id: str) -> Charge:
        return await self._intent(
            "retrieve_charge",
            self._client.v1.payment_intents.retrieve_async(charge_id, {"expand": [FEE_PATH]}),
            None,
        )

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        """Stripe's search is eventually consistent (usually under a minute), which is why
        ticketing looks a lost charge up only after a delay."""
        escaped = idempotency_key.replace("\\", "\\\\").replace("'", "\\'")
        try:
            found = await self._client.v1.payment_intents.search_async(
                {
                    "query": f"metadata['{IDEMPOTENCY_METADATA_KEY}']:'{escaped}'",
                    "expand": [f"data.{FEE_PATH}"],
                    "limit": 10,
                }
            )
        except stripe.StripeError as exc:
            raise to_gateway_error(exc, "find_charge") from exc
        charges = [_to_charge(intent, idempotency_key) for intent in found.data]
        # One key creates at most one intent; should there be more, the paid one matters.
        charges.sort(key=lambda charge: charge.status is not ChargeStatus.SUCCEEDED)
        return charges[0] if charges else None

    async def refund(
        self, charge_id: str, *, idempotency_key: str, amount: int | None = None
    ) -> Refund:
        params: RefundCreateParams = {
            "payment_intent": charge_id,
            "metadata": {IDEMPOTENCY_METADATA_KEY: idempotency_key},
        }
        if amount is not None:
            params["amount"] = amount
        try:
            refund = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise to_gateway_error(exc, "refund") from exc
        return Refund(
            id=refund.id,
            charge_id=_id_of(refund.payment_intent) or charge_id,
            amount=refund.amount,
            currency=refund.currency.upper(),
            idempotency_key=idempotency_key,
            status=refund.status or "pending",
        )

    # -- CustomerGateway --------------------------------------------------------------------

    async def create_customer(self, request: CustomerRequest) -> str:
        params: CustomerCreateParams = {
            "email": request.email,
            "name": request.name,
            "metadata": {"user_id": request.user_id},
        }
        try:
            customer = await self._client.v1.customers.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise to_gateway_error(exc, "create_customer") from exc
        return customer.id

    # -- SubscriptionGateway ----------------------------------------------------------------

    async def create_subscription(self, request: SubscriptionRequest) -> GatewaySubscription:
        """Without a payment method the subscription starts ``incomplete`` with the client
        secret of its first invoice for Stripe.js to confirm; with one, Stripe charges it at
        once (``allow_incomplete``: a card that needs the buyer or is declined leaves it
        ``incomplete`` with the secret and the failed charge, rather than failing the call).
        During a trial nothing is charged."""
        if request.customer_id is None:
            raise GatewayError("customer_required", "a Stripe subscription needs a customer")
        product = await self._plan_product(request.plan)
        params: SubscriptionCreateParams = {
            "customer": request.customer_id,
            "items": [
                {
                    "price_data": {
                        "currency": request.plan.currency.lower(),
                        "unit_amount": request.plan.amount,
                        "recurring": {"interval": request.plan.interval},
                        "product": product,
                    }
                }
            ],
            # default_incomplete would not charge the payment method given.
            "payment_behavior": (
                "allow_incomplete" if request.payment_method else "default_incomplete"
            ),
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "metadata": {
                **request.metadata,
                IDEMPOTENCY_METADATA_KEY: request.idempotency_key,
            },
            "expand": list(SUBSCRIPTION_EXPAND),
        }
        if request.payment_method:
            params["default_payment_method"] = request.payment_method
        if request.trial_days > 0:
            params["trial_period_days"] = request.trial_days
        found = await self._subscription_call(
            "create_subscription",
            self._client.v1.subscriptions.create_async(
                params, {"idempotency_key": request.idempotency_key}
            ),
        )
        subscription = subscription_of(found, client_secret=first_invoice_client_secret(found))
        intent_id = invoice_payment_intent_id(found.get("latest_invoice") or {})
        if request.payment_method is None or intent_id is None:
            return subscription
        try:
            charge = await self._intent(
                "create_subscription",
                self._client.v1.payment_intents.retrieve_async(intent_id, {"expand": [FEE_PATH]}),
                request.idempotency_key,
            )
        except GatewayError as exc:
            # The subscription exists at Stripe: for the caller the outcome is unknown, and
            # replaying the create with its key reads it again.
            raise GatewayTimeout("the subscription's first payment could not be read") from exc
        return dataclasses.replace(
            subscription, latest_charge=charge, latest_invoice_id=id_of(found.get("latest_invoice"))
        )

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> GatewaySubscription:
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        expand = list(SUBSCRIPTION_EXPAND)
        call = (
            self._client.v1.subscriptions.update_async(
                subscription_id, {"cancel_at_period_end": True, "expand": expand}, options
            )
            if at_period_end
            else self._client.v1.subscriptions.cancel_async(
                subscription_id, {"expand": expand}, options
            )
        )
        try:
            found = await self._subscription_call("cancel_subscription", call)
        except GatewayError as exc:
            if isinstance(exc, GatewayTimeout | GatewayUnavailable):
                raise
            # Stripe refuses to change or cancel a subscription cancelled before (a webhook or
            # the dashboard got there first): as it stands, it is the answer.
            current = await self.retrieve_subscription(subscription_id)
            if current.status is not GatewaySubscriptionStatus.CANCELED:
                raise
            return current
        return subscription_of(found, client_secret=first_invoice_client_secret(found))

    async def retrieve_subscription(self, subscription_id: str) -> GatewaySubscription:
        found = await self._subscription_call(
            "retrieve_subscription",
            self._client.v1.subscriptions.retrieve_async(
                subscription_id, {"expand": list(SUBSCRIPTION_EXPAND)}
            ),
        )
        subscription = subscription_of(found, client_secret=first_invoice_client_secret(found))
        # The latest invoice's payment: the charge its events do not name, to refund it.
        intent_id = invoice_payment_intent_id(found.get("latest_invoice") or {})
        if intent_id is None:
            return subscription
        charge = await self._intent(
            "retrieve_subscription",
            self._client.v1.payment_intents.retrieve_async(intent_id, {"expand": [FEE_PATH]}),
            None,
        )
        return dataclasses.replace(
            subscription, latest_charge=charge, latest_invoice_id=id_of(found.get("latest_invoice"))
        )

    async def _plan_product(self, plan: PlanPrice) -> str:
        """The Product that ``plan``'s prices belong to, created the first time. Its id is
        derived from the plan's, so it is found again after the idempotency key expired (24 h):
        Stripe then answers that it exists, or, within the 24 h for a plan renamed since, that
        the key was used with other parameters. Either way the product is there to bill."""
        product_id = f"admitone_plan_{plan.plan_id}"
        if product_id in self._products:
            return product_id
        try:
            await self._client.v1.products.create_async(
                {"id": product_id, "name": plan.name, "metadata": {"plan_id": plan.plan_id}},
                {"idempotency_key": f"admitone-plan-{plan.plan_id}-product"},
            )
        except stripe.StripeError as exc:
            exists = exc.code == "resource_already_exists" or isinstance(
                exc, stripe.IdempotencyError
            )
            if not exists:
                raise to_gateway_error(exc, "create_product") from exc
        self._products.add(product_id)
        return product_id

    async def _subscription_call(
        self, operation: str, call: Awaitable[stripe.Subscription]
    ) -> dict[str, Any]:
        try:
            subscription = await call
        except stripe.StripeError as exc:
            raise to_gateway_error(exc, operation) from exc
        return subscription.to_dict()

    # -- internals --------------------------------------------------------------------------

    async def _intent_or_current_state(
        self,
        operation: str,
        charge_id: str,
        call: Awaitable[stripe.PaymentIntent],
        idempotency_key: str,
    ) -> Charge:
        """``call``, or the intent as it now is when Stripe says its state no longer allows it."""
        try:
            return await self._intent(operation, call, idempotency_key)
        except GatewayError as exc:
            if exc.code != UNEXPECTED_STATE:
                raise
        return await self.retrieve_charge(charge_id)

    async def _intent(
        self, operation: str, call: Awaitable[stripe.PaymentIntent], idempotency_key: str | None
    ) -> Charge:
        try:
            intent = await call
        except stripe.CardError as exc:
            return _declined(exc, idempotency_key)
        except stripe.StripeError as exc:
            raise to_gateway_error(exc, operation) from exc
        return _to_charge(intent, idempotency_key)


def _declined(exc: stripe.CardError, idempotency_key: str | None) -> Charge:
    """A decline is an answer: Stripe sends the intent, now back in
    ``requires_payment_method`` with its ``last_payment_error``, inside the error."""
    error = exc.error
    intent = error.payment_intent if error is not None else None
    if intent is None:
        raise GatewayError(decline_reason(exc.code, error.decline_code if error else None))
    charge = _to_charge(intent, idempotency_key)
    if charge.status is ChargeStatus.FAILED:
        return charge
    # An intent that does not say it failed, inside a card error: trust the error.
    return Charge(
        id=charge.id,
        amount=charge.amount,
        currency=charge.currency,
        status=ChargeStatus.FAILED,
        idempotency_key=charge.idempotency_key,
        payment_method=charge.payment_method,
        failure_reason=decline_reason(exc.code, error.decline_code if error else None),
        metadata=charge.metadata,
    )


def _to_charge(intent: stripe.PaymentIntent, idempotency_key: str | None) -> Charge:
    raw = intent.metadata.to_dict() if intent.metadata else {}
    metadata = {str(k): str(v) for k, v in raw.items()}
    status, reason = _status_of(intent)
    latest = intent.latest_charge
    fee: int | None = None
    fee_error: str | None = None
    refunded = 0
    if isinstance(latest, stripe.Charge):
        refunded = latest.amount_refunded
        transaction = latest.balance_transaction
        # Not settled into the balance yet, the fee is read later.
        if status is ChargeStatus.SUCCEEDED and isinstance(transaction, stripe.BalanceTransaction):
            fee, fee_error = fee_in_charge_currency(
                transaction.fee,
                transaction.currency,
                intent.currency,
                transaction.exchange_rate,
            )
            if fee_error is not None:
                log.warning("stripe_fee_not_bookable", intent=intent.id, reason=fee_error)
    return Charge(
        id=intent.id,
        amount=intent.amount,
        currency=intent.currency.upper(),
        status=status,
        idempotency_key=metadata.get(IDEMPOTENCY_METADATA_KEY) or idempotency_key or "",
        payment_method=_id_of(intent.payment_method),
        failure_reason=reason,
        # Only while the buyer still has something to do in the browser.
        client_secret=intent.client_secret if intent.status in _WAITING and not reason else None,
        amount_refunded=refunded,
        metadata=metadata,
        fee=fee,
        fee_error=fee_error,
    )


def _status_of(intent: stripe.PaymentIntent) -> tuple[ChargeStatus, str | None]:
    status = intent.status
    if status == "succeeded":
        return ChargeStatus.SUCCEEDED, None
    if status == "canceled":
        return ChargeStatus.FAILED, CANCELED
    error = intent.last_payment_error
    if status == "requires_payment_method" and error is not None:
        # Tried and declined; the intent waits for another method, but this attempt failed.
        return ChargeStatus.FAILED, decline_reason(error.code, error.decline_code)
    # requires_payment_method (never tried), requires_confirmation, requires_action: the buyer
    # acts; processing, requires_capture: Stripe is still on it. Either way not final.
    return ChargeStatus.REQUIRES_ACTION, None


def fee_in_charge_currency(
    fee: int, fee_currency: str, charge_currency: str, exchange_rate: float | None
) -> tuple[int | None, str | None]:
    """The fee of a balance transaction in minor units of the charge's currency, or why it
    cannot be booked. Stripe reports the fee in the account's settlement currency, with the
    ``exchange_rate`` that took one major unit of the charge's currency to the settlement
    currency; the fee goes back at that rate (the ledger keeps an order's money in its own
    currency), rounded to the nearest minor unit, halves away from zero."""
    if fee_currency.upper() == charge_currency.upper():
        return fee, None
    if exchange_rate is None or not exchange_rate > 0:
        return None, f"fee in {fee_currency.upper()} without an exchange rate"
    # Minor units of the settlement currency -> its major units -> the charge's major units.
    major = Decimal(fee).scaleb(-exponent(fee_currency)) / Decimal(str(exchange_rate))
    return int(major.scaleb(exponent(charge_currency)).to_integral_value(ROUND_HALF_UP)), None


def _id_of(value: str | stripe.StripeObject | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    identifier = value.to_dict(recursive=False).get("id")
    return identifier if isinstance(identifier, str) else None
