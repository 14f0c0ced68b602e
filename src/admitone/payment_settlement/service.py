"""Settling orders from what the gateway says: apply a charge to its order (webhooks and
reconciliation share this one path), and hand a browser the payment intent of a pending order.

``apply_charge`` never calls the gateway and runs in the caller's transaction; anything that
needs the gateway afterwards (refunding a late payment, reading a fee) is a job enqueued in it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import structlog

from admitone.activity import service as activity_service
from admitone.config import Settings
from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.errors import ServiceUnavailable
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import CANCELED, Charge, ChargeStatus, PaymentGateway, Refund
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.service import OrderNotPayable, OrderStatus

log = structlog.get_logger(__name__)

Effect = Literal[
    "paid",
    "already_paid",
    "late_payment",
    "amount_mismatch",
    "declined",
    "failed",
    "refunded",
    "partial_refund",
    "refund_recorded",
    "ignored",
]
MISMATCH_ACTION = "payments.amount_mismatch"


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
        if (charge.amount, charge.currency.upper()) != (order.total_amount, order.currency):
            return await _mismatched(uow, order, charge)
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


async def _mismatched(
    uow: UnitOfWork, order: ticketing_service.OrderPayment, charge: Charge
) -> Effect:
    """A succeeded payment whose amount or currency is not the order's never pays it: the order
    stays as it was and the payment goes back in full; staff see why in the activity log."""
    if await ticketing_service.refuse_payment(uow, order.order_id, charge):
        amounts = {
            "expected_amount": order.total_amount,
            "received_amount": charge.amount,
            "expected_currency": order.currency,
            "received_currency": charge.currency.upper(),
        }
        log.warning("payment_amount_mismatch", order_id=str(order.order_id), **amounts)
        await activity_service.record(
            uow,
            MISMATCH_ACTION,
            resource_type="order",
            resource_uuid=order.order_id,
            metadata={"order_uuid": order.order_id, **amounts},
        )
    return "amount_mismatch"


async def _refunded(
    uow: UnitOfWork,
    order: ticketing_service.OrderPayment,
    charge: Charge,
    refund_id: str | None,
) -> Effect:
    if charge.amount_refunded < charge.amount:
        if order.status not in ticketing_service.REVENUE_STATUSES:
            # Partly refunded before it paid the order (or after the order closed): it never
            # will, so what is left goes back too.
            await ticketing_service.refuse_payment(uow, order.order_id, charge)
            return "late_payment"
        # A partial refund: this event names neither the refund nor its amount (Stripe's API
        # since 2022-11-15), so it is posted from its own ``refund.*`` event, counted once.
        log.info("partial_refund_left_to_its_event", order_id=str(order.order_id))
        return "partial_refund"
    if order.refund_reference is not None:
        # Settled already (our own refund, or this event seen before); a refund made in the
        # dashboard before it whose own event never came is still counted, once.
        posted = await ticketing_service.record_refund_by_id(
            uow,
            order.order_id,
            charge_id=charge.id,
            refund_id=ticketing_service.external_refund_ref(charge.id),
            amount=None,
        )
        return "refunded" if posted else "ignored"
    await ticketing_service.record_refund_made_elsewhere(
        uow, order.order_id, charge=charge, refund_id=refund_id
    )
    return "refunded"


async def apply_refund(uow: UnitOfWork, order_id: uuid.UUID, refund: Refund) -> Effect:
    """A refund as the gateway reports it (``refund.created`` and its updates): a refund of a
    paid order, whole or partial, made in the gateway's dashboard or by us, is posted and
    counted on the order once per refund id."""
    if refund.status != "succeeded":
        # Pending (its update event follows), or failed or canceled: no money moved for good.
        return "ignored"
    order = await ticketing_service.payment_of(uow, order_id)
    if order is None or order.payment_reference != refund.charge_id:
        return "ignored"
    if refund.currency.upper() != order.currency:
        log.warning("refund_in_other_currency", order_id=str(order_id), refund_id=refund.id)
        return "ignored"
    posted = await ticketing_service.record_refund_by_id(
        uow, order_id, charge_id=refund.charge_id, refund_id=refund.id, amount=refund.amount
    )
    return "refund_recorded" if posted else "ignored"


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
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    viewer: ticketing_service.Viewer,
) -> PaymentIntent:
    """The payment intent of a pending order, for Stripe.js to confirm in the browser. The
    intent was created with the order (purchase); this only reads it back, outside any
    transaction (rule 4). 409 when the order waits for no payment."""
    async with open_uow() as uow:
        order = await ticketing_service.order_for_viewer(uow, order_id, viewer, tickets=False)
        intent_id = order.payment_reference
        if order.status != OrderStatus.PENDING or intent_id is None:
            raise OrderNotPayable(details={"status": order.status, "reference": order.reference})
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
