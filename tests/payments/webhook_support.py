"""Helpers of the webhook, reconciliation and books tests: Stripe events built from the fake
gateway's charges, signed with the SDK's own scheme, and reads of the ledger and the event log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

import admitone.wiring  # noqa: F401 - job handlers, cron entries, topics
from admitone.activity.models import ActivityEntry
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger.models import JournalEntry
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import Charge, ChargeStatus, Refund
from admitone.payments.models import ProcessedWebhookEvent
from admitone.runtime import Runtime
from admitone.ticketing.idempotency import charge_key
from tests.conftest import RELAXED_RATE_LIMITS
from tests.payments.fake_stripe import WEBHOOK_SECRET, event_payload, sign_webhook
from tests.ticketing.conftest import buy, load_order, order_body

Json = dict[str, Any]


def intent_event(
    event_type: str,
    charge: Charge,
    *,
    decline_code: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Json:
    """A ``payment_intent.*`` event whose object is ``charge`` as Stripe would show it."""
    succeeded = charge.status is ChargeStatus.SUCCEEDED
    error = None
    if event_type == "payment_intent.payment_failed":
        error = {"type": "card_error", "code": "card_declined", "decline_code": decline_code}
    status = {
        "payment_intent.succeeded": "succeeded",
        "payment_intent.payment_failed": "requires_payment_method",
        "payment_intent.canceled": "canceled",
    }[event_type]
    return _event(
        event_type,
        {
            "id": charge.id,
            "object": "payment_intent",
            "amount": charge.amount,
            "amount_received": charge.amount if succeeded else 0,
            "currency": charge.currency.lower(),
            "status": status,
            "metadata": dict(charge.metadata if metadata is None else metadata),
            "payment_method": charge.payment_method,
            "last_payment_error": error,
            "latest_charge": f"ch_{charge.id}",
        },
    )


def refunded_event(charge: Charge, refund_id: str | None = None) -> Json:
    """A ``charge.refunded`` event of the intent's charge (``refunds`` listed, as Stripe did
    before API version 2022-11-15, only when ``refund_id`` is given)."""
    obj: Json = {
        "id": f"ch_{charge.id}",
        "object": "charge",
        "amount": charge.amount,
        "amount_refunded": charge.amount_refunded,
        "currency": charge.currency.lower(),
        "metadata": dict(charge.metadata),
        "payment_intent": charge.id,
        "refunded": charge.amount_refunded == charge.amount,
        "status": "succeeded",
    }
    if refund_id is not None:
        obj["refunds"] = {"object": "list", "data": [{"id": refund_id, "object": "refund"}]}
    return _event("charge.refunded", obj)


def refund_event(refund: Refund, event_type: str = "refund.created") -> Json:
    """A refund's own event (``refund.created``, ``refund.updated``, ``charge.refund.updated``)
    whose object is ``refund`` as Stripe shows it."""
    return _event(
        event_type,
        {
            "id": refund.id,
            "object": "refund",
            "amount": refund.amount,
            "currency": refund.currency.lower(),
            "charge": f"ch_{refund.charge_id}",
            "payment_intent": refund.charge_id,
            "metadata": {},
            "status": refund.status,
        },
    )


def _event(event_type: str, obj: Json) -> Json:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-01-01",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


async def post_webhook(
    client: httpx.AsyncClient,
    event: Json,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    payload = event_payload(event)
    header = signature or sign_webhook(payload, secret, timestamp)
    return await client.post(
        "/api/webhooks/stripe",
        content=payload.encode(),
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


async def pending_order(client: httpx.AsyncClient, event_id: uuid.UUID) -> dict[str, Any]:
    """Two tickets bought with no card: the order waits for the buyer to confirm its payment
    intent in the browser."""
    response = await buy(client, event_id, order_body(2))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "pending" and body["payment"]["client_secret"], body
    return body


async def buyer_confirms(
    runtime: Runtime, gateway: FakeGateway, order_id: uuid.UUID | str, method: str = "pm_card_visa"
) -> Charge:
    """The buyer confirms the order's payment intent with Stripe.js: the gateway knows, we do
    not (until its webhook)."""
    intent = (await load_order(runtime, order_id)).payment_reference
    assert intent is not None
    return await gateway.confirm_charge(
        intent,
        payment_method=method,
        idempotency_key=f"{charge_key(uuid.UUID(str(order_id)))}-browser",
    )


async def expire_while_the_gateway_is_down(
    runtime: Runtime, gateway: FakeGateway, clock: FrozenClock
) -> None:
    """The order expires while its payment intent cannot be cancelled (the gateway is down):
    until the cancel job gets through, a stale browser tab can still pay it."""
    gateway.set_failure_mode("unavailable")
    clock.advance(minutes=16)
    await drain(runtime)
    gateway.set_failure_mode(None)


async def entries_of(runtime: Runtime, order_id: uuid.UUID | str) -> list[tuple[str, int]]:
    """(kind, amount) of the order's journal entries, sorted."""
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.execute(
            select(JournalEntry.kind, JournalEntry.amount).where(
                JournalEntry.order_id == uuid.UUID(str(order_id))
            )
        )
        return sorted((kind, int(amount)) for kind, amount in rows)


async def activity_of(runtime: Runtime, action: str) -> list[ActivityEntry]:
    async with runtime.unit_of_work(readonly=True) as uow:
        return list(
            await uow.session.scalars(select(ActivityEntry).where(ActivityEntry.action == action))
        )


async def webhook_events(runtime: Runtime) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(
            await uow.session.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) or 0
        )


# -- fixtures (import them into a test module by name) ------------------------------------------


@pytest.fixture(name="settings")
def settings_fixture(settings: Settings) -> Settings:
    """Orders wait for their payment intent (no default card), webhooks are signed with the
    fake's secret, and one client may buy many times."""
    return settings.model_copy(
        update={
            **RELAXED_RATE_LIMITS,
            "fake_gateway_default_payment_method": None,
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )
