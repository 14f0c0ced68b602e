"""Domain errors of billing: one stable code per rule."""

from __future__ import annotations

from admitone.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)


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


class PlanArchived(InvalidInput):
    code = "plan_archived"
    default_message = "The plan is archived: nobody new can subscribe to it."


class AlreadySubscribed(Conflict):
    code = "already_subscribed"
    default_message = "You already have a subscription to this plan that has not ended."


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    default_message = "Subscription not found."


class SubscriptionEnded(Conflict):
    code = "subscription_ended"
    default_message = "The subscription has already ended."


class RefundNotAllowed(PermissionDenied):
    code = "subscription_refund_forbidden"
    default_message = "Only the plan's organizer and staff can refund a subscription."


class SubscriptionPaymentFailed(DomainError):
    status_code = 402
    code = "payment_failed"
    default_message = "The first payment did not go through; the subscription has ended."


class SubscriptionGatewayDown(ServiceUnavailable):
    code = "payment_gateway_unavailable"
    default_message = "The payment gateway is unavailable; nothing was charged. Try again."


class SubscriptionBeingConfirmed(ServiceUnavailable):
    code = "subscription_being_confirmed"
    default_message = (
        "The payment gateway did not confirm the subscription in time. It is kept incomplete "
        "and confirmed shortly; do not subscribe again."
    )
