"""The use cases of billing that other domains and the boundaries call (domains meet here
only): billing profiles, organizers' billing settings, invoices and credit notes, membership
plans and who is a member of them."""

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

__all__ = [
    "Issued",
    "Viewer",
    "archive_plan",
    "create_plan",
    "create_profile",
    "credit_order",
    "delete_profile",
    "get_plan",
    "get_profile",
    "get_settings",
    "invoice_for_order",
    "invoice_pdf",
    "issue_automatically",
    "list_invoices",
    "list_plans",
    "list_profiles",
    "member_plans",
    "reachable",
    "request_invoice",
    "update_plan",
    "update_profile",
    "update_settings",
]
