"""Subscriptions at the payment provider: the optional ``SubscriptionGateway`` protocol, and the
provider's subscription events as billing applies them.

Two ways a subscription is billed fit through it. A gateway that ``bills_periods`` (Stripe
Subscriptions) charges each period itself and reports it by webhook (``invoice.paid``,
``invoice.payment_failed``, ``customer.subscription.updated``, ``customer.subscription.deleted``),
read into a ``SubscriptionEvent``. A gateway that does not (the fake) only records the
subscription; billing's own renewal job charges each period through ``PaymentGateway`` with an
idempotency key per subscription and period, so a retry never charges twice.

What an event does to a subscription is billing's: it registers its handler here at import time
(payments sits below billing and cannot import it). The webhook endpoint records the event id
first, as for payments, so each event is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.payments.gateway import Charge


class GatewaySubscriptionStatus(StrEnum):
    """The provider's states, as Stripe names them; billing maps them onto its own."""

    INCOMPLETE = "incomplete"  # the first payment needs the buyer (``client_secret``)
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    INCOMPLETE_EXPIRED = "incomplete_expired"


@dataclass(frozen=True, slots=True)
class PlanPrice:
    """What the provider needs to bill a plan."""

    plan_id: str
    name: str
    amount: int  # minor units per period
    currency: str
    interval: str  # "month" or "year"


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    plan: PlanPrice
    idempotency_key: str
    customer_id: str | None = None  # the provider's customer (``CustomerGateway``)
    payment_method: str | None = None
    trial_days: int = 0
    # Strings only (Stripe's rule); billing puts its own subscription id here.
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewaySubscription:
    id: str
    status: GatewaySubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool = False
    # The first period's payment: for the browser to confirm when it needs the buyer.
    client_secret: str | None = None
    # The first period's charge when it was taken at once (none during a trial).
    latest_charge: Charge | None = None
    # The invoice ``latest_charge`` paid: whose fee it is.
    latest_invoice_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class SubscriptionGateway(Protocol):
    """A gateway that keeps subscriptions. Every call that creates or ends one takes an
    idempotency key."""

    name: str
    # True when the provider charges each period itself and reports it by webhook (Stripe);
    # False when billing's renewal job charges each period through ``PaymentGateway`` (fake).
    bills_periods: bool

    async def create_subscription(self, request: SubscriptionRequest) -> GatewaySubscription: ...

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> GatewaySubscription:
        """Cancel now, or at the end of the paid period (the subscription stays active until
        then). Cancelling one cancelled before answers it as it stands."""
        ...

    async def retrieve_subscription(self, subscription_id: str) -> GatewaySubscription: ...


class SubscriptionEventKind(StrEnum):
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    UPDATED = "customer.subscription.updated"
    DELETED = "customer.subscription.deleted"


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """A provider's event about a subscription, read from its webhook body."""

    event_id: str
    kind: SubscriptionEventKind
    subscription_id: str  # the provider's
    # When the provider created the event: events arrive in any order, and an older one must
    # not undo a newer state.
    created: datetime
    status: GatewaySubscriptionStatus | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool | None = None
    # Invoice events: the period's amount paid or due, and the payment that paid it (the
    # payment intent, as a ``Charge`` id; None when the event does not name it, as Stripe's
    # invoice events since API version 2025-03-31 do not).
    amount: int | None = None
    currency: str | None = None
    charge_id: str | None = None
    invoice_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


# The settings carry the handler's own policy (billing's grace after a failed payment).
SubscriptionEventHandler = Callable[[UnitOfWork, SubscriptionEvent, Settings], Awaitable[str]]

_handlers: list[SubscriptionEventHandler] = []


def register_subscription_handler(handler: SubscriptionEventHandler) -> None:
    """Billing's handler, registered once at import time (``admitone.wiring``)."""
    if handler not in _handlers:
        _handlers.append(handler)


async def apply_subscription_event(
    uow: UnitOfWork, event: SubscriptionEvent, settings: Settings
) -> str:
    """Apply ``event`` in the caller's transaction (the webhook's, after its id was recorded);
    answers what was done ("ignored" with no handler, as a process without billing)."""
    outcome = "ignored"
    for handler in _handlers:
        outcome = await handler(uow, event, settings)
    return outcome
