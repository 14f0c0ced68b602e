"""Stripe's subscription and invoice objects read as plain JSON, across API versions.

The SDK's objects (``to_dict()``) and the webhook bodies go through the same readers, without
the SDK (a web worker loads it only for a call). Stripe moved fields between versions, so each
reader takes the newer place first and the older one after:

- a subscription's period: on its items (2025-03-31 "basil" and later), on the subscription
  before;
- the subscription an invoice bills: ``parent.subscription_details.subscription`` (basil), a
  top-level ``subscription`` before, or its first line;
- the payment intent that paid an invoice: its ``payments`` list (basil; listed only when
  expanded), a top-level ``payment_intent`` before;
- the first period's client secret: ``confirmation_secret`` (basil), or the expanded
  ``payment_intent`` before.

Readers raise ``KeyError``, ``ValueError`` or ``TypeError`` for an object they cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from admitone.payments.subscriptions import GatewaySubscription, GatewaySubscriptionStatus

Json = Mapping[str, Any]


def at(timestamp: object) -> datetime:
    """A Stripe timestamp (seconds since the epoch) as an aware UTC datetime."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float | str):
        raise TypeError("not a timestamp")
    return datetime.fromtimestamp(int(timestamp), UTC)


def subscription_of(obj: Json, *, client_secret: str | None = None) -> GatewaySubscription:
    start, end = period_of(obj)
    return GatewaySubscription(
        id=str(obj["id"]),
        status=GatewaySubscriptionStatus(str(obj["status"])),
        current_period_start=start,
        current_period_end=end,
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        client_secret=client_secret,
        metadata=metadata_of(obj),
    )


def period_of(obj: Json) -> tuple[datetime, datetime]:
    """The subscription's current period: its first item's (every item of one subscription
    shares it), else the subscription's own fields, else its trial."""
    for source in (*_items(obj)[:1], obj):
        start, end = source.get("current_period_start"), source.get("current_period_end")
        if start is not None and end is not None:
            return at(start), at(end)
    if obj.get("trial_start") is not None and obj.get("trial_end") is not None:
        return at(obj["trial_start"]), at(obj["trial_end"])
    raise KeyError("current_period_start")


def metadata_of(obj: Json) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def first_invoice_client_secret(obj: Json) -> str | None:
    """The client secret of the first invoice's payment, while the buyer still has it to
    confirm (none once paid, or during a trial)."""
    invoice = obj.get("latest_invoice")
    if not isinstance(invoice, Mapping) or invoice.get("status") != "open":
        return None
    secret = invoice.get("confirmation_secret")
    if isinstance(secret, Mapping) and isinstance(secret.get("client_secret"), str):
        return str(secret["client_secret"])
    intent = invoice.get("payment_intent")
    if isinstance(intent, Mapping) and isinstance(intent.get("client_secret"), str):
        return str(intent["client_secret"])
    return None


def invoice_subscription_id(invoice: Json) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    found = id_of(details.get("subscription")) or id_of(invoice.get("subscription"))
    if found is not None:
        return found
    for line in (invoice.get("lines") or {}).get("data") or []:
        item_details = (line.get("parent") or {}).get("subscription_item_details") or {}
        found = id_of(item_details.get("subscription")) or id_of(line.get("subscription"))
        if found is not None:
            return found
    return None


def invoice_subscription_metadata(invoice: Json) -> dict[str, str]:
    """The subscription's metadata as the invoice copied it when it was made."""
    details = (invoice.get("parent") or {}).get("subscription_details") or invoice.get(
        "subscription_details"
    )
    return metadata_of(details) if isinstance(details, Mapping) else {}


def invoice_payment_intent_id(invoice: Json) -> str | None:
    """The payment intent that paid (or failed to pay) the invoice, the latest first."""
    payments = (invoice.get("payments") or {}).get("data") or []
    for payment in sorted(payments, key=lambda p: p.get("created") or 0, reverse=True):
        found = id_of((payment.get("payment") or {}).get("payment_intent"))
        if found is not None:
            return found
    return id_of(invoice.get("payment_intent"))


def invoice_period(invoice: Json) -> tuple[datetime | None, datetime | None]:
    """The service period the invoice bills: its subscription line's (the invoice's own
    ``period_*`` is the period before, for a renewal)."""
    for line in (invoice.get("lines") or {}).get("data") or []:
        period = line.get("period") or {}
        if period.get("start") is not None and period.get("end") is not None:
            return at(period["start"]), at(period["end"])
    return None, None


def id_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def _items(obj: Json) -> list[Json]:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return [item for item in data or [] if isinstance(item, Mapping)]
