"""Response bodies of the payment settlement endpoints. Money travels as decimal strings
("50.00")."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class PaymentIntentOut(BaseModel):
    order_id: uuid.UUID
    payment_intent_id: str
    status: str
    # What Stripe.js needs to confirm the payment in the browser.
    client_secret: str | None
    publishable_key: str | None
    amount: str
    currency: str


class WebhookAck(BaseModel):
    received: bool = True
    # What the event did: paid, late_payment, failed, refunded, duplicate, ignored, ...
    outcome: str
