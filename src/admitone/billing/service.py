"""The use cases of billing that other domains and the boundaries call (domains meet here
only): billing profiles, organizers' billing settings, invoices and credit notes."""

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

__all__ = [
    "Issued",
    "Viewer",
    "create_profile",
    "credit_order",
    "delete_profile",
    "get_profile",
    "get_settings",
    "invoice_for_order",
    "invoice_pdf",
    "issue_automatically",
    "list_invoices",
    "list_profiles",
    "reachable",
    "request_invoice",
    "update_profile",
    "update_settings",
]
