"""Step 2: pay. The gateway is asked with no transaction open (rule 4) and its answer, or its
failure to answer, becomes a ``PaymentOutcome`` for the settlement: the one mapping of gateway
errors, for a new charge and for the confirmation of a payment intent alike."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable

from sqlalchemy.exc import IntegrityError

from admitone.core.db import OpenUnitOfWork
from admitone.payments import customers as payment_customers
from admitone.payments.errors import GatewayError, GatewayTimeout
from admitone.payments.gateway import Charge, ChargeRequest, CustomerGateway, PaymentGateway
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.models import Order
from admitone.ticketing.purchase.request import PurchaseRequest
from admitone.ticketing.purchase.settle import PaymentOutcome, outcome_of


async def ask(call: Awaitable[Charge], *, charge_id: str | None = None) -> PaymentOutcome:
    """What the gateway answered ``call``; a timeout is an ``unknown`` outcome (the money may
    have moved), any other gateway error a failure. ``charge_id``: the payment intent asked
    about, kept on a failure."""
    try:
        return outcome_of(await call)
    except GatewayTimeout:
        return PaymentOutcome("unknown", charge_id=charge_id, reason="timeout")
    except GatewayError as exc:
        return PaymentOutcome("failed", charge_id=charge_id, reason=exc.code)


async def charge_order(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, request: PurchaseRequest, order: Order
) -> PaymentOutcome:
    """Charge a placed order with its idempotency key, as its buyer's provider customer when
    they are signed in (created at their first purchase)."""
    customer_id = (
        await ensure_customer(
            open_uow,
            gateway,
            user_id=request.buyer_user_id,
            email=request.customer_email,
            name=request.customer_name,
        )
        if request.buyer_user_id is not None
        else None
    )
    return await ask(
        gateway.create_charge(
            ChargeRequest(
                amount=order.total_amount,
                currency=order.currency,
                idempotency_key=charge_key(order.id),
                payment_method=request.payment_method,
                buyer_confirms=request.buyer_confirms,
                description=f"admitone order {order.reference}",
                metadata={"order_id": str(order.id), "reference": order.reference},
                customer_id=customer_id,
            )
        )
    )


async def ensure_customer(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    *,
    user_id: uuid.UUID,
    email: str,
    name: str,
) -> str | None:
    """The buyer's customer id at ``gateway``, or None when the gateway keeps no customers or
    could not create one: a short read, the provider call outside any transaction, a short
    write."""
    if not isinstance(gateway, CustomerGateway):
        return None
    async with open_uow() as uow:
        known = await payment_customers.known_customer(uow, gateway, user_id)
    if known is not None:
        return known
    created = await payment_customers.create_customer(
        gateway, user_id=user_id, email=email, name=name
    )
    if created is None:
        return None
    try:
        async with open_uow() as uow:
            return await payment_customers.keep_customer(uow, gateway, user_id, created)
    except IntegrityError:
        # The account went away meanwhile: charge without keeping the link.
        return created
