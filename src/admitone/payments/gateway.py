"""The ``PaymentGateway`` protocol: the one door between admitone and a payment provider.

Two flows fit through it. The synchronous charge: ``create_charge`` with a payment method
confirms at once and answers ``succeeded`` or ``failed``. The payment intent: without a
method (or when the card needs 3-D Secure) the charge answers ``requires_action`` with a client
secret, the buyer confirms in the browser, and the result arrives later (``confirm_charge`` or a
webhook, then ``retrieve_charge``). Every call that moves money takes an idempotency key, so a
retry after a lost answer never charges or refunds twice (Stripe's ``Idempotency-Key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    # Not final yet: the buyer must act (``client_secret`` set), or the provider is still
    # processing (no client secret); the outcome arrives later (webhook, ``retrieve_charge``).
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"


# The ``failure_reason`` of a cancelled charge: unlike a decline, nothing can pay it any more.
CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    amount: int  # minor units
    currency: str
    idempotency_key: str
    payment_method: str | None = None
    # Without a payment method: the buyer will confirm the intent in a browser, so no gateway
    # may stand in a payment method of its own (the fake's default test card).
    buyer_confirms: bool = False
    description: str = ""
    # Strings only (Stripe's rule). The Stripe adapter also stores the idempotency key here so
    # that ``find_charge`` can search for a charge whose answer was lost.
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The provider's customer of a signed-in buyer (see ``CustomerGateway``); None for guests
    # and for gateways without customers.
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    amount: int
    currency: str
    status: ChargeStatus
    idempotency_key: str
    payment_method: str | None = None
    failure_reason: str | None = None  # lower-case code: card_declined, insufficient_funds, ...
    client_secret: str | None = None  # for the browser to confirm a payment intent
    amount_refunded: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The provider's processing fee in minor units of the charge's currency, known once the
    # charge has succeeded (Stripe: the charge's balance transaction, converted when the account
    # settles in another currency). None while unknown.
    fee: int | None = None
    # Why a fee the provider reports cannot be booked (no retry will change it); ``fee`` is None.
    fee_error: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    charge_id: str
    amount: int
    currency: str
    idempotency_key: str
    status: str = "succeeded"


class PaymentGateway(Protocol):
    name: str

    async def create_charge(self, request: ChargeRequest) -> Charge:
        """Create (and, with a payment method, confirm) a charge. The same idempotency key with
        the same request answers the same charge; with another request, ``GatewayError``."""
        ...

    async def confirm_charge(
        self, charge_id: str, *, payment_method: str, idempotency_key: str
    ) -> Charge: ...

    async def retrieve_charge(self, charge_id: str) -> Charge: ...

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        """The charge created with this idempotency key, if any: how a caller whose request
        timed out learns whether money moved."""
        ...

    async def refund(
        self, charge_id: str, *, idempotency_key: str, amount: int | None = None
    ) -> Refund:
        """Refund ``amount`` (default: what is left) of a succeeded charge. The same key answers
        the same refund and never moves money twice."""
        ...

    async def cancel_charge(self, charge_id: str, *, idempotency_key: str) -> Charge:
        """Cancel a charge that has not taken the money, so that no later confirmation can
        (Stripe lets a buyer retry a declined intent until it is cancelled). Answers the charge
        as it stands: ``failed`` with reason ``canceled`` once cancelled (again, for a charge
        cancelled before), or ``succeeded`` when it took the money first and cannot be
        cancelled: the caller then settles or refunds it."""
        ...


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    user_id: str
    email: str
    name: str
    # Derived from the user, so two racing first purchases create one customer at the provider.
    idempotency_key: str


@runtime_checkable
class CustomerGateway(Protocol):
    """A gateway that keeps customers (Stripe). Optional: a gateway without it charges every
    buyer as a guest."""

    name: str

    async def create_customer(self, request: CustomerRequest) -> str:
        """Create the customer and answer its id; the same key answers the same customer."""
        ...
