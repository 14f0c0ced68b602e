"""The use cases of billing that other domains and the boundaries call (domains meet here
only): billing profiles, organizers' billing settings, invoices and credit notes, and
subscriptions."""

from __future__ import annotations

from admitone.billing.invoices import (
    Issued,
    Viewer,
    credit_order,
    invoice_for_order,
    invoice_pdf,
    issue_automatically,
    list_invoices,
    reachable,
    request_invoice,
)
from admitone.billing.profiles import (
    create_profile,
    delete_profile,
    get_profile,
    get_settings,
    list_profiles,
    update_profile,
    update_settings,
)
from admitone.billing.subscribe import Subscribed, subscribe
from admitone.billing.subscription_cancel import cancel as cancel_subscription
from admitone.billing.subscriptions import get_for as get_subscription
from admitone.billing.subscriptions import list_for as list_subscriptions

__all__ = [
    "Issued",
    "Subscribed",
    "Viewer",
    "cancel_subscription",
    "create_profile",
    "credit_order",
    "delete_profile",
    "get_profile",
    "get_settings",
    "get_subscription",
    "invoice_for_order",
    "invoice_pdf",
    "issue_automatically",
    "list_invoices",
    "list_profiles",
    "list_subscriptions",
    "reachable",
    "request_invoice",
    "subscribe",
    "update_profile",
    "update_settings",
]
