"""The use cases of billing that other domains and the boundaries call (domains meet here
only): billing profiles, organizers' billing settings, invoices and credit notes, a user's
transactions and an organizer's payouts, membership plans, who is a member of them, and
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
from admitone.billing.memberships import member_plans
from admitone.billing.payouts import Payouts, payouts
from admitone.billing.plans import archive_plan, create_plan, get_plan, list_plans, update_plan
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
from admitone.billing.transactions import Transaction, list_transactions

__all__ = [
    "Issued",
    "Payouts",
    "Subscribed",
    "Transaction",
    "Viewer",
    "archive_plan",
    "cancel_subscription",
    "create_plan",
    "create_profile",
    "credit_order",
    "delete_profile",
    "get_plan",
    "get_profile",
    "get_settings",
    "get_subscription",
    "invoice_for_order",
    "invoice_pdf",
    "issue_automatically",
    "list_invoices",
    "list_plans",
    "list_profiles",
    "list_subscriptions",
    "list_transactions",
    "member_plans",
    "payouts",
    "reachable",
    "request_invoice",
    "subscribe",
    "update_plan",
    "update_profile",
    "update_settings",
]
