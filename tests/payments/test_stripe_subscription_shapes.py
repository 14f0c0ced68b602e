"""Stripe's subscription and invoice objects read the same whichever API version wrote them:
the fields that moved in 2025-03-31 ("basil") are found in their old places too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from admitone.payments import stripe_subscription_shapes as shapes
from admitone.payments.subscription_webhooks import subscription_event_of
from admitone.payments.subscriptions import GatewaySubscriptionStatus, SubscriptionEventKind
from admitone.payments.webhooks import WebhookEvent

START, END = 1_780_000_000, 1_782_592_000


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def test_a_subscription_before_basil_keeps_its_period_on_itself() -> None:
    subscription = shapes.subscription_of(
        {
            "id": "sub_1",
            "status": "active",
            "current_period_start": START,
            "current_period_end": END,
            "items": {"object": "list", "data": [{"id": "si_1"}]},
            "metadata": {"subscription_id": "sub-1"},
        }
    )

    assert (subscription.current_period_start, subscription.current_period_end) == (
        at(START),
        at(END),
    )
    assert subscription.status is GatewaySubscriptionStatus.ACTIVE
    assert subscription.metadata == {"subscription_id": "sub-1"}


def test_a_subscription_without_any_period_is_unreadable() -> None:
    with pytest.raises(KeyError):
        shapes.period_of({"id": "sub_1", "status": "active", "items": {"data": []}})


def test_the_first_invoice_client_secret_comes_from_the_expanded_intent_before_basil() -> None:
    subscription = {
        "latest_invoice": {
            "status": "open",
            "payment_intent": {"id": "pi_1", "client_secret": "pi_1_secret_x"},
        }
    }

    assert shapes.first_invoice_client_secret(subscription) == "pi_1_secret_x"
    assert shapes.first_invoice_client_secret({"latest_invoice": "in_1"}) is None


def test_an_invoice_before_basil_names_its_subscription_and_intent_at_the_top() -> None:
    invoice: dict[str, Any] = {
        "id": "in_1",
        "subscription": "sub_1",
        "payment_intent": "pi_1",
        "subscription_details": {"metadata": {"subscription_id": "sub-1"}},
        "amount_paid": 1500,
        "currency": "eur",
        "lines": {"data": [{"period": {"start": START, "end": END}}]},
    }
    event = subscription_event_of(WebhookEvent("evt_1", "invoice.paid", invoice, created=START + 5))

    assert event is not None
    assert (event.kind, event.subscription_id, event.charge_id, event.invoice_id) == (
        SubscriptionEventKind.INVOICE_PAID,
        "sub_1",
        "pi_1",
        "in_1",
    )
    assert (event.amount, event.currency, event.created) == (1500, "EUR", at(START + 5))
    assert (event.current_period_start, event.current_period_end) == (at(START), at(END))
    assert event.metadata == {"subscription_id": "sub-1"}


def test_an_invoice_since_basil_may_name_its_subscription_on_its_line_only() -> None:
    invoice = {
        "lines": {
            "data": [
                {
                    "parent": {
                        "subscription_item_details": {"subscription": "sub_2"},
                    }
                }
            ]
        }
    }

    assert shapes.invoice_subscription_id(invoice) == "sub_2"


def test_an_event_without_its_creation_time_is_unreadable() -> None:
    with pytest.raises(KeyError):
        subscription_event_of(
            WebhookEvent("evt_1", "customer.subscription.deleted", {"id": "sub_1"})
        )
