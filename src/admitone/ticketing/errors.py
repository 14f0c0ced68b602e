"""Domain errors of ticketing: one stable code per rule."""

from __future__ import annotations

from typing import Any, ClassVar

from admitone.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "Order not found."


class InvalidOrderQuantity(InvalidInput):
    code = "invalid_quantity"
    default_message = "The number of tickets in an order is out of range."


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    default_message = (
        "This idempotency key was already used for a different purchase; use a new key."
    )


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"
    default_message = "The idempotency key in the header and in the body differ."


class PendingOrderExists(Conflict):
    code = "pending_order_exists"
    default_message = "You already have an order for this event waiting for payment."


class TooManyPendingOrders(RateLimited):
    """One client address holds as many pending orders (or seats) of the event as it may."""

    code = "too_many_pending_orders"
    default_message = "Too many orders of this event are waiting for payment from your address."

    def __init__(self, cap: str, limit: int, retry_after: int, **details: Any) -> None:
        super().__init__(retry_after)
        self.details = {**self.details, "cap": cap, "limit": limit, **details}


class PaymentFailed(DomainError):
    status_code = 402
    code = "payment_failed"
    default_message = "The payment did not go through; nothing was charged."
    # The order is marked failed and its capacity returned before this is raised: keep that.
    keeps_changes: ClassVar[bool] = True


class OrderNotCompleted(ServiceUnavailable):
    code = "order_not_completed"
    default_message = (
        "The payment went through but the order could not be completed; "
        "the payment is being refunded in full."
    )
    keeps_changes: ClassVar[bool] = True


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    default_message = "This order can no longer be cancelled."


class RefundWindowClosed(Conflict):
    code = "refund_window_closed"
    default_message = (
        "Cancelling this order for a refund closed before the event; the organizer can still "
        "cancel it."
    )


class RefundsNotAllowed(Conflict):
    code = "refunds_not_allowed"
    default_message = (
        "This event gives no refunds, so its paid orders cannot be cancelled by their buyer; "
        "the organizer can still cancel it."
    )


class CancelReasonRequired(InvalidInput):
    code = "cancel_reason_required"
    default_message = (
        "Cancelling an order for its buyer, or past its refund window, needs a reason_code."
    )


class OrderNotPaid(Conflict):
    code = "order_not_paid"
    default_message = "This order has no valid tickets."


class RefundFailed(ServiceUnavailable):
    code = "refund_failed"
    default_message = (
        "The refund could not be completed now. The order stays in refunding and the refund "
        "is retried automatically."
    )
    keeps_changes: ClassVar[bool] = True


class OrderNoLongerPayable(Conflict):
    code = "order_no_longer_payable"
    default_message = (
        "The order expired or was cancelled before the payment completed; "
        "the payment is refunded in full."
    )
    keeps_changes: ClassVar[bool] = True


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    default_message = "This order is not waiting for a payment."


class CartEmpty(InvalidInput):
    code = "cart_empty"
    default_message = "The cart has nothing to check out."


class CartNeedsTickets(InvalidInput):
    code = "cart_needs_tickets"
    default_message = (
        "An order is for an event: a cart is checked out with at least one ticket of it."
    )


class CartMixedEvents(InvalidInput):
    code = "cart_mixed_events"
    default_message = (
        "A cart's tickets and event products must all be of one event; check out each event's "
        "in a cart of its own."
    )


class ProductNotSoldHere(InvalidInput):
    code = "product_not_sold_with_event"
    default_message = (
        "The product is not sold with this event: it belongs to another event, organizer or "
        "currency."
    )


class MembershipRequired(PermissionDenied):
    """A members-only tier, bought by someone who is not signed in as a member of one of its
    plans (a guest, or a subscription canceled, expired or never taken)."""

    code = "membership_required"
    default_message = "This ticket tier is for members of one of its plans; sign in as a member."


class BillingProfileNotFound(NotFound):
    # Billing's code for the same refusal: a client handles one, whichever route said it.
    code = "billing_profile_not_found"
    default_message = "Billing profile not found."
