"""Stripe's webhooks as the gateway adapter sees them: the signature verified, the event id
recorded once, and the charge or refund the event reports read from its body. What an event
does to its order is ``payment_settlement``'s.

The event id is recorded in the transaction of the event's effect (unique per gateway), and
first, so a redelivery racing the original waits on the unique index and then finds it taken.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.core.errors import BadRequest, ServiceUnavailable
from admitone.payments.gateway import Charge, ChargeStatus, Refund
from admitone.payments.models import ProcessedWebhookEvent
from admitone.payments.stripe_errors import decline_reason

log = structlog.get_logger(__name__)

GATEWAY = "stripe"
SUCCEEDED = "payment_intent.succeeded"
PAYMENT_FAILED = "payment_intent.payment_failed"
CANCELED = "payment_intent.canceled"
REFUNDED = "charge.refunded"
# A refund's own events: the only ones that name a partial refund and its amount.
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "charge.refund.updated"})
HANDLED = frozenset({SUCCEEDED, PAYMENT_FAILED, CANCELED, REFUNDED}) | REFUND_EVENTS


class InvalidSignature(BadRequest):
    code = "invalid_signature"
    default_message = "The webhook signature is missing, invalid or too old."


class WebhooksNotConfigured(ServiceUnavailable):
    code = "webhooks_not_configured"
    default_message = "Stripe webhooks are not configured on this server."


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    object: Mapping[str, Any]
    # When Stripe created the event (seconds since the epoch): events arrive in any order.
    created: int | None = None


def verify(payload: bytes, signature: str | None, settings: Settings) -> WebhookEvent:
    """The event, if Stripe signed this very body within the SDK's tolerance (300 s)."""
    secret = settings.stripe_webhook_secret
    if secret is None:
        raise WebhooksNotConfigured()
    # Imported on the first webhook: the SDK is 30 MB, which a web worker that never gets one
    # (the fake gateway, or Stripe's webhooks sent to other workers) does without.
    import stripe  # noqa: PLC0415

    try:
        event = stripe.Webhook.construct_event(payload, signature, secret.get_secret_value())
        body = json.loads(payload)
        created = body.get("created")
        return WebhookEvent(
            str(event.id),
            str(event.type),
            dict(body["data"]["object"]),
            created if isinstance(created, int) and not isinstance(created, bool) else None,
        )
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as exc:
        # The reason stays in our logs: a forger learns nothing from the answer.
        log.warning("webhook_rejected", error=type(exc).__name__)
        raise InvalidSignature() from None


async def record(uow: UnitOfWork, event: WebhookEvent) -> ProcessedWebhookEvent | None:
    """Record ``event`` as being processed, in the caller's transaction and before its effect;
    None when it was processed before (a replay, or a concurrent delivery that won)."""
    if await _seen(uow, event.id):
        return None
    record = ProcessedWebhookEvent(
        id=uuid.uuid4(),
        gateway=GATEWAY,
        event_id=event.id[:255],
        event_type=event.type[:100],
        outcome="processing",
        received_at=uow.clock.now(),
    )
    try:
        async with uow.session.begin_nested():
            uow.session.add(record)
    except IntegrityError:
        return None
    return record


def subject_of(event: WebhookEvent) -> tuple[Charge, str | None] | Refund:
    """The refund a refund's event is about, or the charge (and the refund id it carries) of a
    payment's event. Raises ``KeyError``, ``ValueError`` or ``TypeError`` for one that cannot
    be read."""
    return _refund_of(event) if event.type in REFUND_EVENTS else _charge_of(event)


async def _seen(uow: UnitOfWork, event_id: str) -> bool:
    found = await uow.session.scalar(
        select(
            exists().where(
                ProcessedWebhookEvent.gateway == GATEWAY,
                ProcessedWebhookEvent.event_id == event_id,
            )
        )
    )
    return bool(found)


def _charge_of(event: WebhookEvent) -> tuple[Charge, str | None]:
    """The gateway's charge as the event reports it (the fee is never in an event: it is read
    later by a job), and the refund's id when the event carries it."""
    obj = event.object
    metadata = {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}
    if event.type == REFUNDED:
        refunds = (obj.get("refunds") or {}).get("data") or []
        return (
            Charge(
                id=_id(obj.get("payment_intent")) or str(obj["id"]),
                amount=int(obj["amount"]),
                currency=str(obj["currency"]).upper(),
                status=ChargeStatus.SUCCEEDED,
                idempotency_key="",
                payment_method=_id(obj.get("payment_method")),
                amount_refunded=int(obj.get("amount_refunded") or 0),
                metadata=metadata,
            ),
            _id(refunds[0]) if refunds else None,
        )
    status, reason = ChargeStatus.SUCCEEDED, None
    if event.type == PAYMENT_FAILED:
        error = obj.get("last_payment_error") or {}
        status, reason = (
            ChargeStatus.FAILED,
            decline_reason(error.get("code"), error.get("decline_code")),
        )
    elif event.type == CANCELED:
        status, reason = ChargeStatus.FAILED, "canceled"
    return (
        Charge(
            id=str(obj["id"]),
            amount=int(obj.get("amount_received") or obj["amount"]),
            currency=str(obj["currency"]).upper(),
            status=status,
            idempotency_key="",
            payment_method=_id(obj.get("payment_method")),
            failure_reason=reason,
            metadata=metadata,
        ),
        None,
    )


def _refund_of(event: WebhookEvent) -> Refund:
    """The refund a ``refund.*`` event is about; its charge is the payment intent, as the
    order stores it (a charge made without one is no order's)."""
    obj = event.object
    charge_id = _id(obj.get("payment_intent")) or _id(obj.get("charge"))
    if charge_id is None:
        raise ValueError("a refund of no charge")
    return Refund(
        id=str(obj["id"]),
        charge_id=charge_id,
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        idempotency_key="",
        status=str(obj.get("status") or "pending"),
    )


def _id(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None
