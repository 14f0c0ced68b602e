"""Seed 002's second step: the buyer confirms the payment intent of a pending order with a
payment method (what the browser does with Stripe.js; the webhook of the Stripe issue then calls
``settle`` the same way). The gateway is called outside any transaction, as in checkout."""

from __future__ import annotations

import uuid

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.payments.errors import GatewayError, GatewayTimeout
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import queries, settlement
from admitone.ticketing.errors import OrderNotPayable
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.queries import Viewer


async def pay_order(
    uow: UnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    viewer: Viewer,
    *,
    payment_method: str,
) -> Order:
    """Confirm the order's payment intent and settle it. Spans transactions (rule 4)."""
    order = await queries.order_for_viewer(uow, order_id, viewer, tickets=False)
    intent = order.payment_reference
    if order.status != OrderStatus.PENDING or intent is None:
        raise OrderNotPayable(details={"status": order.status, "reference": order.reference})
    # A guest pays with the token of their purchase: the email repeats it instead of a new one.
    token = viewer.access_token
    if token is not None and not queries.token_matches(order, token):
        token = None
    # A decline is recorded on the order (``updated_at`` moves), so the buyer's next try, even
    # with the same card, is a new request to the gateway rather than a replay of the decline;
    # a client resending the same try still shares its key.
    attempt = f"{payment_method}-{order.updated_at.timestamp():.6f}"
    await uow.commit()
    try:
        outcome = settlement.outcome_of(
            await gateway.confirm_charge(
                intent,
                payment_method=payment_method,
                idempotency_key=f"{charge_key(order_id)}-confirm-{attempt}",
            )
        )
    except GatewayTimeout:
        outcome = settlement.PaymentOutcome("unknown", charge_id=intent, reason="timeout")
    except GatewayError as exc:
        outcome = settlement.PaymentOutcome("failed", charge_id=intent, reason=exc.code)
    return await settlement.settle(uow, gateway, settings, order_id, outcome, access_token=token)
