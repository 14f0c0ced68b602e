"""Stripe's four subscription events read into a ``SubscriptionEvent``: the invoice of a
period paid or failed, and the subscription updated or deleted. What they do is billing's
(``apply_subscription_event``); the webhook route records each event id first."""

from __future__ import annotations

from admitone.payments import stripe_subscription_shapes as shapes
from admitone.payments.subscriptions import (
    GatewaySubscriptionStatus,
    SubscriptionEvent,
    SubscriptionEventKind,
)
from admitone.payments.webhooks import WebhookEvent

HANDLED = frozenset(kind.value for kind in SubscriptionEventKind)
_INVOICE_EVENTS = frozenset(
    {SubscriptionEventKind.INVOICE_PAID, SubscriptionEventKind.INVOICE_PAYMENT_FAILED}
)


def subscription_event_of(event: WebhookEvent) -> SubscriptionEvent | None:
    """The subscription event ``event`` reports; None for an invoice of no subscription (one
    made in the dashboard, say: nothing of admitone's). Raises ``KeyError``, ``ValueError`` or
    ``TypeError`` for one that cannot be read."""
    kind = SubscriptionEventKind(event.type)
    if event.created is None:
        raise KeyError("created")
    created = shapes.at(event.created)
    obj = event.object
    if kind in _INVOICE_EVENTS:
        subscription_id = shapes.invoice_subscription_id(obj)
        if subscription_id is None:
            return None
        start, end = shapes.invoice_period(obj)
        paid = kind is SubscriptionEventKind.INVOICE_PAID
        return SubscriptionEvent(
            event_id=event.id,
            kind=kind,
            subscription_id=subscription_id,
            created=created,
            current_period_start=start,
            current_period_end=end,
            amount=int(obj["amount_paid"] if paid else obj["amount_due"]),
            currency=str(obj["currency"]).upper(),
            charge_id=shapes.invoice_payment_intent_id(obj) or shapes.id_of(obj.get("charge")),
            invoice_id=str(obj["id"]),
            metadata=shapes.invoice_subscription_metadata(obj),
        )
    start, end = shapes.period_of(obj)
    return SubscriptionEvent(
        event_id=event.id,
        kind=kind,
        subscription_id=str(obj["id"]),
        created=created,
        status=GatewaySubscriptionStatus(str(obj["status"])),
        current_period_start=start,
        current_period_end=end,
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        metadata=shapes.metadata_of(obj),
    )
