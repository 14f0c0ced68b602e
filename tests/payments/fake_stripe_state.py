"""What the fake Stripe server knows: payment intents, charges, balance transactions, refunds,
customers, products and subscriptions (``fake_stripe_subscriptions``) and the events Stripe
would send, as the JSON objects Stripe answers with.

Not thread-safe by itself: the server calls it under its lock. Every method answers
``(http_status, body)`` the way the Stripe API does, errors in Stripe's envelope.
"""

from __future__ import annotations

import copy
import re
import secrets
import time
from itertools import count

from admitone.payments.fake import fake_fee
from tests.payments.fake_stripe_answers import Answer, Json, error, missing
from tests.payments.fake_stripe_subscriptions import Subscriptions, hide_includable

SUCCEEDS = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover"})
NEEDS_ACTION = frozenset({"pm_card_threeDSecure2Required", "pm_card_authenticationRequired"})
# Stripe's test payment methods that decline: (code, decline_code, message), as Stripe sends them.
DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
}
_CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
_CANCELABLE = _CONFIRMABLE | {"requires_capture", "processing"}
_METADATA_CLAUSE = re.compile(r"^metadata\['(?P<key>[^']+)'\]:'(?P<value>(?:[^'\\]|\\.)*)'$")
_FIELD_CLAUSE = re.compile(r"^(?P<key>\w+):'(?P<value>(?:[^'\\]|\\.)*)'$")


class StripeState:
    def __init__(self) -> None:
        self.objects: dict[str, Json] = {}  # every object by id, as Stripe stores it
        self.events: list[Json] = []
        self._ids = count(1)
        # The account's settlement currency, when charges are converted into it, and the rate
        # Stripe reports for the conversion (None: a rate missing from the report).
        self.settlement: tuple[str, float | None] | None = None
        self.subscriptions = Subscriptions(self)

    # -- reading ----------------------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Json]:
        return [copy.deepcopy(o) for o in self.objects.values() if o["object"] == kind]

    def view(self, object_id: str, expand: list[str] | None = None) -> Json:
        """The object as the API shows it, with ``expand`` paths ("a.b") replaced by objects."""
        shown = copy.deepcopy(self.objects[object_id])
        for path in expand or []:
            self._expand(shown, path.split("."))
        hide_includable(shown, expand or [])
        return shown

    def _expand(self, node: Json, parts: list[str]) -> None:
        head, rest = parts[0], parts[1:]
        value = node.get(head)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and rest:
                    self._expand(item, rest)
            return
        if isinstance(value, str) and value in self.objects:
            value = copy.deepcopy(self.objects[value])
            node[head] = value
        if isinstance(value, dict) and rest:
            self._expand(value, rest)

    # -- payment intents --------------------------------------------------------------------

    def create_intent(self, params: Json) -> Answer:
        try:
            amount = int(params["amount"])
            currency = str(params["currency"]).lower()
        except (KeyError, ValueError):
            return error(400, "invalid_request_error", "Missing amount or currency.")
        if amount < 1 or not re.fullmatch(r"[a-z]{3}", currency):
            return error(400, "invalid_request_error", "Invalid amount or currency.")
        customer = params.get("customer")
        if customer is not None and customer not in self.objects:
            return missing("customer", customer, "customer")
        intent_id = self.new_id("pi")
        intent: Json = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "customer": customer,
            "description": params.get("description"),
            "metadata": dict(params.get("metadata") or {}),
            "payment_method": None,
            "latest_charge": None,
            "last_payment_error": None,
            "next_action": None,
            "automatic_payment_methods": params.get("automatic_payment_methods"),
            "payment_method_types": ["card"],
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "canceled_at": None,
            "cancellation_reason": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.objects[intent_id] = intent
        self.event("payment_intent.created", intent_id)
        method = params.get("payment_method")
        if params.get("confirm") == "true":
            if method is None:
                return error(
                    400,
                    "invalid_request_error",
                    "You must provide a payment_method to confirm.",
                    code="payment_intent_unexpected_state",
                )
            return self.confirm_intent(intent_id, {**params, "payment_method": method})
        if method is not None:
            intent["payment_method"] = method
            intent["status"] = "requires_confirmation"
        return 200, self.view(intent_id, params.get("expand"))

    def confirm_intent(self, intent_id: str, params: Json) -> Answer:
        intent = self.objects.get(intent_id)
        if intent is None or intent["object"] != "payment_intent":
            return missing("payment_intent", intent_id)
        if intent["status"] not in _CONFIRMABLE:
            return error(
                400,
                "invalid_request_error",
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
                payment_intent=self.view(intent_id),
            )
        method = params.get("payment_method") or intent["payment_method"]
        if method is None:
            return error(
                400,
                "invalid_request_error",
                "You must provide a payment_method to confirm.",
                code="payment_intent_unexpected_state",
            )
        if method not in SUCCEEDS | NEEDS_ACTION | DECLINES.keys():
            return missing("PaymentMethod", method, "payment_method")
        intent["payment_method"] = method
        if method in NEEDS_ACTION:
            intent.update(status="requires_action", next_action={"type": "use_stripe_sdk"})
            self.event("payment_intent.requires_action", intent_id)
            return 200, self.view(intent_id, params.get("expand"))
        if method in DECLINES:
            return self._decline(intent, method)
        self._succeed(intent)
        return 200, self.view(intent_id, params.get("expand"))

    def cancel_intent(self, intent_id: str, params: Json) -> Answer:
        intent = self.objects.get(intent_id)
        if intent is None or intent["object"] != "payment_intent":
            return missing("payment_intent", intent_id)
        if intent["status"] not in _CANCELABLE:
            return error(
                400,
                "invalid_request_error",
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: requires_payment_method, requires_capture, "
                "requires_confirmation, requires_action, processing.",
                code="payment_intent_unexpected_state",
                payment_intent=self.view(intent_id),
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
            next_action=None,
        )
        self.event("payment_intent.canceled", intent_id)
        return 200, self.view(intent_id, params.get("expand"))

    def retrieve_intent(self, intent_id: str, params: Json) -> Answer:
        intent = self.objects.get(intent_id)
        if intent is None or intent["object"] != "payment_intent":
            return missing("payment_intent", intent_id)
        return 200, self.view(intent_id, params.get("expand"))

    def search_intents(self, params: Json) -> Answer:
        wanted: list[tuple[str, str, str]] = []  # (field or "metadata", key, value)
        for clause in re.split(r"\s+AND\s+", str(params.get("query", "")).strip()):
            found = _METADATA_CLAUSE.match(clause)
            if found:
                wanted.append(("metadata", found["key"], _unescape(found["value"])))
                continue
            found = _FIELD_CLAUSE.match(clause)
            if found:
                wanted.append((found["key"], "", _unescape(found["value"])))
                continue
            return error(
                400,
                "invalid_request_error",
                f"Unsupported search clause: {clause}",
                code="parsing_error",
            )
        hits = [
            intent["id"]
            for intent in sorted(self.objects.values(), key=lambda o: o["created"], reverse=True)
            if intent["object"] == "payment_intent"
            and all(
                (intent["metadata"].get(key) if field == "metadata" else str(intent.get(field)))
                == value
                for field, key, value in wanted
            )
        ]
        limit = int(params.get("limit", 10))
        result: Json = {
            "object": "search_result",
            "url": "/v1/payment_intents/search",
            "has_more": len(hits) > limit,
            "next_page": None,
            "data": [self.view(intent_id) for intent_id in hits[:limit]],
        }
        for path in params.get("expand") or []:
            self._expand(result, path.split("."))
        return 200, result

    # -- what happens outside the API: the browser, the dashboard ---------------------------

    def complete_in_browser(self, intent_id: str, method: str) -> Json:
        """What Stripe.js does when the buyer confirms the intent with ``method``."""
        status, body = self.confirm_intent(intent_id, {"payment_method": method})
        return body if status == 200 else self.view(intent_id)

    # -- refunds ----------------------------------------------------------------------------

    def create_refund(self, params: Json) -> Answer:
        intent_id = params.get("payment_intent")
        charge_id = params.get("charge")
        if intent_id is not None:
            intent = self.objects.get(intent_id)
            if intent is None or intent["object"] != "payment_intent":
                return missing("payment_intent", intent_id, "payment_intent")
            charge_id = intent["latest_charge"]
        charge = self.objects.get(charge_id) if charge_id else None
        if charge is None or charge["status"] != "succeeded":
            return error(
                400,
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            return error(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = int(params.get("amount", left))
        if not 0 < amount <= left:
            return error(
                400,
                "invalid_request_error",
                "Refund amount is greater than the unrefunded amount on the charge.",
                code="amount_too_large",
                param="amount",
            )
        refund_id = self.new_id("re")
        transaction_id = self.new_id("txn")
        self.objects[transaction_id] = {
            "id": transaction_id,
            "object": "balance_transaction",
            "amount": -amount,
            "currency": charge["currency"],
            "exchange_rate": None,
            "fee": 0,
            "fee_details": [],
            "net": -amount,
            "status": "available",
            "type": "refund",
            "source": refund_id,
            "created": int(time.time()),
        }
        self.objects[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "balance_transaction": transaction_id,
            "metadata": dict(params.get("metadata") or {}),
            "reason": params.get("reason"),
            "status": "succeeded",
            "created": int(time.time()),
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.event("refund.created", refund_id)
        self.event("charge.refunded", charge["id"])
        return 200, self.view(refund_id, params.get("expand"))

    # -- customers --------------------------------------------------------------------------

    def create_customer(self, params: Json) -> Answer:
        customer_id = self.new_id("cus")
        self.objects[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": dict(params.get("metadata") or {}),
            "created": int(time.time()),
            "livemode": False,
        }
        self.event("customer.created", customer_id)
        return 200, self.view(customer_id)

    def retrieve_customer(self, customer_id: str) -> Answer:
        customer = self.objects.get(customer_id)
        if customer is None or customer["object"] != "customer":
            return missing("customer", customer_id)
        return 200, self.view(customer_id)

    # -- events -----------------------------------------------------------------------------

    def event_for(self, event_type: str, object_id: str) -> Json:
        """A Stripe ``Event`` for the object as it is now (``data.object`` is a snapshot)."""
        return {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": "2025-01-01",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": self.view(object_id)},
        }

    def event(self, event_type: str, object_id: str) -> None:
        self.events.append(self.event_for(event_type, object_id))

    # -- internals --------------------------------------------------------------------------

    def _succeed(self, intent: Json) -> None:
        charge_id = self.new_id("ch")
        transaction_id = self.new_id("txn")
        amount, currency, rate = self._settled(intent["amount"], intent["currency"])
        fee = fake_fee(amount)
        self.objects[transaction_id] = {
            "id": transaction_id,
            "object": "balance_transaction",
            "amount": amount,
            "currency": currency,
            "exchange_rate": rate,
            "fee": fee,
            "fee_details": [
                {
                    "amount": fee,
                    "currency": currency,
                    "type": "stripe_fee",
                    "description": "Stripe processing fees",
                }
            ],
            "net": amount - fee,
            "status": "pending",
            "type": "charge",
            "source": charge_id,
            "created": int(time.time()),
        }
        self.objects[charge_id] = self._charge(intent, charge_id, "succeeded", transaction_id)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge_id,
            last_payment_error=None,
            next_action=None,
        )
        self.event("charge.succeeded", charge_id)
        self.event("payment_intent.succeeded", intent["id"])
        self.subscriptions.intent_settled(intent)

    def _settled(self, amount: int, currency: str) -> tuple[int, str, float | None]:
        """A charge's amount in the account's balance: converted at the settlement rate when the
        account settles in another currency (both with cents here)."""
        if self.settlement is None or self.settlement[0] == currency:
            return amount, currency, None
        settle_in, rate = self.settlement
        return round(amount * (rate or 1)), settle_in, rate

    def _decline(self, intent: Json, method: str) -> Answer:
        code, decline_code, message = DECLINES[method]
        charge_id = self.new_id("ch")
        charge = self._charge(intent, charge_id, "failed", None)
        charge.update(failure_code=code, failure_message=message)
        self.objects[charge_id] = charge
        payment_error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge_id,
            "payment_method": {"id": method, "object": "payment_method", "type": "card"},
        }
        intent.update(
            status="requires_payment_method",
            latest_charge=charge_id,
            last_payment_error=payment_error,
            next_action=None,
        )
        self.event("charge.failed", charge_id)
        self.event("payment_intent.payment_failed", intent["id"])
        self.subscriptions.intent_settled(intent)
        return error(
            402,
            "card_error",
            message,
            code=code,
            decline_code=decline_code,
            charge=charge_id,
            payment_intent=self.view(intent["id"]),
        )

    @staticmethod
    def _charge(intent: Json, charge_id: str, status: str, transaction_id: str | None) -> Json:
        paid = status == "succeeded"
        return {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if paid else 0,
            "amount_refunded": 0,
            "balance_transaction": transaction_id,
            "captured": paid,
            "currency": intent["currency"],
            "customer": intent["customer"],
            "metadata": dict(intent["metadata"]),
            "paid": paid,
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "refunded": False,
            "status": status,
            "failure_code": None,
            "failure_message": None,
            "created": int(time.time()),
            "livemode": False,
        }

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):08d}{secrets.token_hex(4)}"


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)
