"""Domain errors of billing: one stable code per rule."""

from __future__ import annotations

from admitone.core.errors import Conflict, NotFound, PermissionDenied


class BillingProfileNotFound(NotFound):
    code = "billing_profile_not_found"
    default_message = "Billing profile not found."


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    default_message = "Invoice not found."


class OrderNotInvoiceable(NotFound):
    """An order the asker did not buy, or one that is not paid: neither has an invoice to ask
    for, and a foreign order must look the same as a missing one."""

    code = "order_not_found"
    default_message = "Order not found."


class DefaultProfileChanged(Conflict):
    code = "billing_profile_default_changed"
    default_message = "Another default billing profile was set at the same time; try again."


class OrganizersOnly(PermissionDenied):
    code = "billing_organizers_only"
    default_message = "Only organizers and staff have billing settings."


class PayoutsForOrganizers(PermissionDenied):
    code = "billing_organizers_only"
    default_message = "Only organizers and staff have payouts."


class PlanNotFound(NotFound):
    code = "plan_not_found"
    default_message = "Membership plan not found."


class PlanTermsLocked(Conflict):
    code = "plan_terms_locked"
    default_message = (
        "A plan's price, currency and interval are fixed once anyone subscribed; "
        "create a new plan instead."
    )
