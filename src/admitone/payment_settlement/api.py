"""Thin HTTP layer of payment settlement: Stripe's webhook endpoint and an order's payment
intent."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated

from fastapi import Header, Request

from admitone.core.money import Money
from admitone.http.deps import AppRuntime, AppSettings, Holds, OptionalUser, Uow, public
from admitone.http.params import OrderToken
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.payment_settlement import service, webhooks
from admitone.payment_settlement.schemas import PaymentIntentOut, WebhookAck
from admitone.payments import webhooks as stripe_webhooks
from admitone.ticketing import service as ticketing_service

router = api_router(tags=["payments"])


# The body is read raw (its signature covers the exact bytes), so it is declared here.
_STRIPE_EVENT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A Stripe event, signed in the Stripe-Signature header.",
                "required": ["id", "type", "data"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string"},
                    "data": {
                        "type": "object",
                        "required": ["object"],
                        "properties": {"object": {"type": "object"}},
                    },
                },
            }
        }
    },
}


@router.post(
    "/webhooks/stripe",
    responses=errors(503),
    openapi_extra={"requestBody": _STRIPE_EVENT_BODY},
)
@public
async def stripe_webhook(
    request: Request,
    uow: Uow,
    settings: AppSettings,
    holds: Holds,
    stripe_signature: Annotated[str | None, Header(max_length=2000)] = None,
) -> WebhookAck:
    """Stripe's events (signed; a bad or stale signature is a 400 with no effect). A replayed
    event answers 200 and changes nothing."""
    event = stripe_webhooks.verify(await request.body(), stripe_signature, settings)
    outcome = await webhooks.process(uow, settings, event)
    order_id = (event.object.get("metadata") or {}).get("order_id")
    if outcome == "paid" and order_id:
        # A pending order paid in the browser stops counting against its buyer's address.
        with contextlib.suppress(ValueError):
            await holds.release(uuid.UUID(str(order_id)))
    return WebhookAck(outcome=outcome)


@router.post("/orders/{order_id}/payment-intent", responses=errors(404, 409, 422, 503))
@public
async def payment_intent(
    order_id: uuid.UUID,
    *,
    uow: Uow,
    runtime: AppRuntime,
    settings: AppSettings,
    user: OptionalUser,
    token: OrderToken = None,
) -> PaymentIntentOut:
    """The client secret of a pending order's payment intent, for Stripe.js to confirm in the
    browser (the purchase answer carries it too; this fetches it again, after a reload say).
    For the order's buyer or a guest with its token; 409 when the order waits for no payment."""
    viewer = ticketing_service.Viewer(user_id=user.id if user else None, access_token=token)
    # The intent is read in a short transaction of its own and the gateway asked outside any:
    # end what the request read so far (on SQLite a writer's transaction holds the write lock).
    await uow.commit()
    intent = await service.payment_intent_for(
        runtime.unit_of_work, runtime.gateway, settings, order_id, viewer
    )
    return PaymentIntentOut(
        order_id=intent.order_id,
        payment_intent_id=intent.intent_id,
        status=intent.status,
        client_secret=intent.client_secret,
        publishable_key=intent.publishable_key,
        amount=Money(intent.amount, intent.currency).to_decimal_string(),
        currency=intent.currency,
    )
