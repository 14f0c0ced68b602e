"""Payment use cases the boundaries call: apply what the gateway says about a charge to its order
(webhooks and reconciliation share this one path), and hand a browser the payment intent of a
pending order.

``apply_charge`` never calls the gateway and runs in the caller's transaction; anything that
needs the gateway afterwards (refunding a late payment, reading a fee) is a job enqueued in it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import structlog

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.core.errors import ServiceUnavailable
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import CANCELED, Charge, ChargeStatus, PaymentGateway
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.service import OrderNotPayable, OrderStatus

log = structlog.get_logger(__name__)

Effect = Literal[
    "paid",
    "already_paid",
    "late_payment",
    "declined",
    "failed",
    "refunded",
    "partial_refund",
    "ignored",
]


class PaymentGatewayUnreachable(ServiceUnavailable):
    code = "payment_gateway_unavailable"
    default_message = "The payment provider could not be reached; please try again shortly."


async def apply_charge(
    uow: UnitOfWork,
    settings: Settings,
    order_id: uuid.UUID,
    charge: Charge,
    *,
    refund_id: str | None = None,
) -> Effect:
    """Bring the order in line with ``charge`` as the gateway reports it. Idempotent, and safe
    in any order of arrival: a failure after a success changes nothing; a success after the
    order was closed is a late payment, refunded by a job."""
    order = await ticketing_service.payment_of(uow, order_id)
    if order is None:
        return "ignored"
    if order.payment_reference not in (None, charge.id):
        # Another payment of this order (one intent per order, so not expected): this charge
        # is not the one the order is settled by.
        log.warning("charge_for_other_payment", order_id=str(order_id), charge_id=charge.id)
        return "ignored"
    if charge.amount_refunded > 0:
        return await _refunded(uow, order, charge, refund_id)
    if charge.status is ChargeStatus.SUCCEEDED:
        result = await ticketing_service.record_success(
            uow, settings, order_id, ticketing_service.outcome_of(charge)
        )
        return "late_payment" if result.effect == "late" else result.effect
    if charge.status is ChargeStatus.FAILED and order.status == OrderStatus.PENDING:
        if charge.failure_reason != CANCELED:
            # The buyer may try the same intent with another card: the order keeps its seats
            # until it expires (or the intent is cancelled).
            return "declined"
        await ticketing_service.fail_order(uow, order_id, CANCELED)
        return "failed"
    return "ignored"


async def _refunded(
    uow: UnitOfWork,
    order: ticketing_service.OrderPayment,
    charge: Charge,
    refund_id: str | None,
) -> Effect:
    if order.refund_reference is not None:
        return "ignored"  # settled already: our own refund, or this event seen before
    if charge.amount_refunded < charge.amount:
        # Orders are refunded in full; a partial refund made in the dashboard is left to staff.
        log.warning("partial_refund_not_settled", order_id=str(order.order_id))
        return "partial_refund"
    await ticketing_service.record_refund_made_elsewhere(
        uow, order.order_id, charge=charge, refund_id=refund_id
    )
    return "refunded"


async def find_order(
    uow: UnitOfWork, *, order_id: str | None, payment_reference: str | None
) -> uuid.UUID | None:
    """The order a gateway object names: by the order id in its metadata, else by the payment
    reference the order stored."""
    if order_id:
        try:
            found = await ticketing_service.payment_of(uow, uuid.UUID(order_id))
        except ValueError:
            found = None
        if found is not None:
            return found.order_id
    if payment_reference:
        found = await ticketing_service.by_payment_reference(uow, payment_reference)
        if found is not None:
            return found.order_id
    return None


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    order_id: uuid.UUID
    intent_id: str
    status: str
    client_secret: str | None
    publishable_key: str | None
    amount: int
    currency: str


async def payment_intent_for(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    viewer: ticketing_service.Viewer,
) -> PaymentIntent:
    """The payment intent of a pending order, for Stripe.js to confirm in the browser. The
    intent was created with the order (purchase); this only reads it back, outside any
    transaction (rule 4). 409 when the order waits for no payment."""
    order = await ticketing_service.order_for_viewer(uow, order_id, viewer, tickets=False)
    intent_id = order.payment_reference
    if order.status != OrderStatus.PENDING or intent_id is None:
        raise OrderNotPayable(details={"status": order.status, "reference": order.reference})
    await uow.commit()
    try:
        charge = await gateway.retrieve_charge(intent_id)
    except GatewayError as exc:
        raise PaymentGatewayUnreachable(details={"reason": exc.code}) from exc
    return PaymentIntent(
        order_id=order_id,
        intent_id=charge.id,
        status=charge.status.value,
        client_secret=charge.client_secret,
        publishable_key=settings.stripe_publishable_key,
        amount=charge.amount,
        currency=charge.currency,
    )
