"""The fake Stripe server's Products and Subscriptions, in the shapes of the pinned API version
(2025-03-31 "basil" and later): a subscription's period on its items, an invoice naming its
subscription under ``parent.subscription_details`` and its payments in ``payments`` (listed
only when expanded, as is ``confirmation_secret``).

A subscription bills an inline price of a Product. Its first invoice is paid by a payment
intent: at once with ``default_payment_method`` (unless ``payment_behavior`` is
``default_incomplete``), else by the buyer in the browser (``complete_in_browser``), which
activates it. A trial bills nothing until ``advance_period``, the test control that moves a
subscription to its next period the way Stripe's clock would: it renews (invoice paid, or
failed and ``past_due``), or ends one set to cancel at the period's end, and answers the events
Stripe sends for it.

Part of ``StripeState`` (under the server's lock); it calls back into the state for payment
intents and events.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.payments.fake_stripe_answers import Answer, Json, error, missing

if TYPE_CHECKING:
    from tests.payments.fake_stripe_state import StripeState

DAY = 86_400
# The fake's calendar: every month 30 days, every year 365.
_INTERVALS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": 365 * DAY}
# Fields Stripe lists only when expanded.
INCLUDABLE = ("payments", "confirmation_secret")
_CHARGES_AT_ONCE = frozenset({"allow_incomplete", "error_if_incomplete", None})


class Subscriptions:
    def __init__(self, state: StripeState) -> None:
        self.state = state
        self.invoice_of_intent: dict[str, str] = {}
        self._creating: set[str] = set()  # no "updated" event while a create call runs

    # -- products ---------------------------------------------------------------------------

    def create_product(self, params: Json) -> Answer:
        if not params.get("name"):
            return error(400, "invalid_request_error", "Missing required param: name.")
        product_id = params.get("id") or self.state.new_id("prod")
        if product_id in self.state.objects:
            return error(
                400,
                "invalid_request_error",
                "Product already exists.",
                code="resource_already_exists",
                param="id",
            )
        self.state.objects[product_id] = {
            "id": product_id,
            "object": "product",
            "name": params["name"],
            "active": True,
            "metadata": dict(params.get("metadata") or {}),
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.event("product.created", product_id)
        return 200, self.state.view(product_id)

    def retrieve_product(self, product_id: str) -> Answer:
        return self._retrieve("product", product_id, {})

    # -- subscriptions ----------------------------------------------------------------------

    def create_subscription(self, params: Json) -> Answer:
        customer = params.get("customer")
        if customer is None:
            return error(
                400,
                "invalid_request_error",
                "Missing required param: customer.",
                code="parameter_missing",
                param="customer",
            )
        if customer not in self.state.objects:
            return missing("customer", customer, "customer")
        try:
            [item] = params["items"]
            data = item["price_data"]
            amount, currency = int(data["unit_amount"]), str(data["currency"])
            interval, product = data["recurring"]["interval"], data["product"]
        except (KeyError, ValueError, TypeError):
            return error(400, "invalid_request_error", "Invalid items[0][price_data].")
        if interval not in _INTERVALS:
            return error(400, "invalid_request_error", f"Invalid interval: {interval}.")
        if product not in self.state.objects:
            return missing("product", product, "items[0][price_data][product]")
        now = int(time.time())
        trial_days = int(params.get("trial_period_days") or 0)
        subscription_id = self.state.new_id("sub")
        price_id = self.state.new_id("price")
        end = now + (trial_days * DAY if trial_days else _INTERVALS[interval])
        subscription: Json = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer,
            "currency": currency,
            "status": "trialing" if trial_days else "incomplete",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "start_date": now,
            "trial_start": now if trial_days else None,
            "trial_end": end if trial_days else None,
            "default_payment_method": params.get("default_payment_method"),
            "payment_behavior": params.get("payment_behavior"),
            "latest_invoice": None,
            "metadata": dict(params.get("metadata") or {}),
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self.state.new_id("si"),
                        "object": "subscription_item",
                        "subscription": subscription_id,
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": end,
                        "price": {
                            "id": price_id,
                            "object": "price",
                            "currency": currency,
                            "unit_amount": amount,
                            "product": product,
                            "type": "recurring",
                            "recurring": {"interval": interval, "interval_count": 1},
                        },
                    }
                ],
            },
            "created": now,
            "livemode": False,
        }
        self.state.objects[subscription_id] = subscription
        self._creating.add(subscription_id)
        try:
            self.state.event("customer.subscription.created", subscription_id)
            behavior = params.get("payment_behavior")
            self._bill(
                subscription,
                0 if trial_days else amount,
                "subscription_create",
                params.get("default_payment_method") if behavior in _CHARGES_AT_ONCE else None,
            )
        finally:
            self._creating.discard(subscription_id)
        return 200, self.state.view(subscription_id, params.get("expand"))

    def retrieve_subscription(self, subscription_id: str, params: Json) -> Answer:
        return self._retrieve("subscription", subscription_id, params)

    def modify_subscription(self, subscription_id: str, params: Json) -> Answer:
        subscription = self.state.objects.get(subscription_id)
        if subscription is None or subscription["object"] != "subscription":
            return missing("subscription", subscription_id)
        changes = {k: v for k, v in params.items() if k not in {"expand", "metadata"}}
        if subscription["status"] == "canceled" and changes:
            return error(
                400,
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        before = (subscription["cancel_at_period_end"], dict(subscription["metadata"]))
        if "cancel_at_period_end" in params:
            at_end = params["cancel_at_period_end"] == "true"
            subscription["cancel_at_period_end"] = at_end
            subscription["cancel_at"] = _period(subscription)[1] if at_end else None
            subscription["canceled_at"] = int(time.time()) if at_end else None
        subscription["metadata"].update(params.get("metadata") or {})
        if (subscription["cancel_at_period_end"], subscription["metadata"]) != before:
            self.state.event("customer.subscription.updated", subscription_id)
        return 200, self.state.view(subscription_id, params.get("expand"))

    def cancel_subscription(self, subscription_id: str, params: Json) -> Answer:
        subscription = self.state.objects.get(subscription_id)
        if (
            subscription is None
            or subscription["object"] != "subscription"
            or subscription["status"] == "canceled"
        ):
            # As Stripe answers the cancel of one cancelled before.
            return missing("subscription", subscription_id)
        self._end(subscription)
        return 200, self.state.view(subscription_id, params.get("expand"))

    # -- Stripe's clock ---------------------------------------------------------------------

    def advance_period(self, subscription_id: str, payment_method: str | None) -> list[Json]:
        subscription = self.state.objects[subscription_id]
        assert subscription["status"] != "canceled", "a cancelled subscription has no next period"
        first = len(self.state.events)
        if subscription["cancel_at_period_end"]:
            self._end(subscription)
            return self.state.events[first:]
        [item] = subscription["items"]["data"]
        start = item["current_period_end"]
        item["current_period_start"] = start
        item["current_period_end"] = start + _INTERVALS[item["price"]["recurring"]["interval"]]
        if subscription["status"] == "trialing":
            subscription["status"] = "active"
        self.state.event("customer.subscription.updated", subscription_id)
        self._bill(
            subscription,
            item["price"]["unit_amount"],
            "subscription_cycle",
            payment_method or subscription["default_payment_method"],
        )
        return self.state.events[first:]

    # -- payments of invoices (called by the state when an intent settles) ------------------

    def intent_settled(self, intent: Json) -> None:
        invoice_id = self.invoice_of_intent.get(intent["id"])
        if invoice_id is None:
            return
        invoice = self.state.objects[invoice_id]
        subscription = self.state.objects[invoice["parent"]["subscription_details"]["subscription"]]
        [payment] = invoice["payments"]["data"]
        if intent["status"] == "succeeded":
            payment["status"] = "paid"
            payment["amount_paid"] = intent["amount"]
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_due"],
                amount_remaining=0,
                confirmation_secret=None,
            )
            subscription["default_payment_method"] = (
                subscription["default_payment_method"] or intent["payment_method"]
            )
            self.state.event("invoice.paid", invoice_id)
            self._set_status(subscription, "active")
        elif intent["last_payment_error"] is not None:
            invoice["attempt_count"] += 1
            self.state.event("invoice.payment_failed", invoice_id)
            if subscription["status"] in {"active", "trialing"}:
                self._set_status(subscription, "past_due")

    # -- internals --------------------------------------------------------------------------

    def _bill(
        self, subscription: Json, amount: int, reason: str, payment_method: str | None
    ) -> None:
        """The period's invoice; with an amount, the payment intent that pays it, charged with
        ``payment_method`` when there is one."""
        invoice_id = self.state.new_id("in")
        start, end = _period(subscription)
        [item] = subscription["items"]["data"]
        invoice: Json = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "currency": subscription["currency"],
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "attempt_count": 0,
            "billing_reason": reason,
            "status": "open",
            "period_start": start,
            "period_end": start,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": dict(subscription["metadata"]),
                },
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": self.state.new_id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": subscription["currency"],
                        "period": {"start": start, "end": end},
                        "parent": {
                            "type": "subscription_item_details",
                            "subscription_item_details": {
                                "subscription": subscription["id"],
                                "subscription_item": item["id"],
                            },
                        },
                    }
                ],
            },
            "payments": {"object": "list", "data": []},
            "confirmation_secret": None,
            "created": int(time.time()),
            "livemode": False,
        }
        self.state.objects[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        self.state.event("invoice.created", invoice_id)
        if amount == 0:
            invoice.update(status="paid")
            self.state.event("invoice.paid", invoice_id)
            return
        status, intent = self.state.create_intent(
            {
                "amount": str(amount),
                "currency": subscription["currency"],
                "customer": subscription["customer"],
            }
        )
        assert status == 200, intent
        self.invoice_of_intent[intent["id"]] = invoice_id
        invoice["payments"]["data"].append(
            {
                "id": self.state.new_id("inpay"),
                "object": "invoice_payment",
                "invoice": invoice_id,
                "is_default": True,
                "amount_paid": None,
                "amount_requested": amount,
                "currency": subscription["currency"],
                "status": "open",
                "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
                "created": int(time.time()),
            }
        )
        invoice["confirmation_secret"] = {
            "type": "payment_intent",
            "client_secret": intent["client_secret"],
        }
        if payment_method is not None:
            self.state.confirm_intent(intent["id"], {"payment_method": payment_method})
        elif reason == "subscription_cycle":
            # No card on file: the renewal fails as Stripe's would.
            self.state.objects[intent["id"]]["last_payment_error"] = {
                "type": "invalid_request_error",
                "code": "payment_method_missing",
            }
            self.intent_settled(self.state.objects[intent["id"]])

    def _end(self, subscription: Json) -> None:
        now = int(time.time())
        subscription.update(
            status="canceled",
            canceled_at=subscription["canceled_at"] or now,
            ended_at=now,
        )
        self.state.event("customer.subscription.deleted", subscription["id"])

    def _set_status(self, subscription: Json, status: str) -> None:
        if subscription["status"] == status:
            return
        subscription["status"] = status
        if subscription["id"] not in self._creating:
            self.state.event("customer.subscription.updated", subscription["id"])

    def _retrieve(self, kind: str, object_id: str, params: Json) -> Answer:
        found = self.state.objects.get(object_id)
        if found is None or found["object"] != kind:
            return missing(kind, object_id)
        return 200, self.state.view(object_id, params.get("expand"))


def _period(subscription: Json) -> tuple[int, int]:
    [item] = subscription["items"]["data"]
    return item["current_period_start"], item["current_period_end"]


def hide_includable(shown: Json, expand: list[str]) -> None:
    """Drop the invoice fields Stripe lists only when asked, from an invoice or a
    subscription's latest invoice (expanded) as shown."""
    for prefix, invoice in (("", shown), ("latest_invoice.", shown.get("latest_invoice"))):
        if not isinstance(invoice, dict) or invoice.get("object") != "invoice":
            continue
        for name in INCLUDABLE:
            if f"{prefix}{name}" not in expand:
                invoice.pop(name, None)
