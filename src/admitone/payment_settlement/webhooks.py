"""Apply a verified Stripe event to its order, or to its subscription, exactly once.

The event is recorded first (``payments.webhooks.record``), so a replay answers 200 and changes
nothing. The effect goes through ``service.apply_charge``, the path reconciliation takes too,
which tolerates any order of arrival; a refund's own events go through ``service.apply_refund``.
A subscription's events go to billing's handler (``apply_subscription_event``) in the same
transaction. The payment events of a subscription's invoices name no order: they are logged and
ignored, the invoice's own event being the one that counts. No gateway call is made here: a
late payment's refund is a job.
"""

from __future__ import annotations

import structlog

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.payment_settlement import service
from admitone.payments import subscription_webhooks, webhooks
from admitone.payments.gateway import Refund
from admitone.payments.subscriptions import apply_subscription_event
from admitone.payments.webhooks import WebhookEvent

__all__ = ["WebhookEvent", "process"]

log = structlog.get_logger(__name__)


async def process(uow: UnitOfWork, settings: Settings, event: WebhookEvent) -> str:
    """Apply ``event`` in the caller's transaction; answers what it did ("duplicate" for an
    event processed before)."""
    record = await webhooks.record(uow, event)
    if record is None:
        return "duplicate"
    outcome = "ignored"
    if event.type in subscription_webhooks.HANDLED:
        try:
            subscription_event = subscription_webhooks.subscription_event_of(event)
        except (KeyError, ValueError, TypeError):
            outcome = "unreadable"
        else:
            if subscription_event is not None:
                outcome = await apply_subscription_event(uow, subscription_event, settings)
    elif event.type in webhooks.HANDLED:
        try:
            subject = webhooks.subject_of(event)
        except (KeyError, ValueError, TypeError):
            outcome = "unreadable"
        else:
            charge_id = subject.charge_id if isinstance(subject, Refund) else subject[0].id
            metadata = {} if isinstance(subject, Refund) else subject[0].metadata
            order_id = await service.find_order(
                uow, order_id=metadata.get("order_id"), payment_reference=charge_id
            )
            record.order_id = order_id
            if order_id is None:
                # A subscription invoice's payment too: it is no order's.
                log.warning("webhook_for_unknown_order", event_type=event.type, charge_id=charge_id)
            elif isinstance(subject, Refund):
                outcome = await service.apply_refund(uow, order_id, subject)
            else:
                charge, refund_id = subject
                outcome = await service.apply_charge(
                    uow, settings, order_id, charge, refund_id=refund_id
                )
    if outcome == "unreadable":
        # Signed by Stripe, so not an attack; retrying would not make it readable either.
        log.error("webhook_unreadable", event_type=event.type)
    record.outcome = outcome[:40]  # the column's width; billing's outcomes are its own
    await uow.flush()
    log.info("webhook_processed", event_type=event.type, outcome=outcome)
    return outcome
