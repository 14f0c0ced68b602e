"""Cancelling a subscription, as a flow (rule 4): check in a short transaction, tell the gateway
(and refund) with none open, settle in another.

At the end of the period: the subscription stays what it is, a member until the period ends,
when the renewal (or the provider) cancels it without a charge. Now: it ends at once. The plan's
organizer and staff may end it now with a refund of the current period's charge, in full (the
simplest rule a subscriber can check: no proration); the refund is booked to the ledger.
"""

from __future__ import annotations

import uuid

from admitone.billing import subscriptions, topics
from admitone.billing.errors import RefundNotAllowed, SubscriptionEnded, SubscriptionGatewayDown
from admitone.billing.models import ChargeState, Subscription, SubscriptionStatus
from admitone.core.actor import Actor
from admitone.core.db import OpenUnitOfWork
from admitone.core.errors import InvalidInput
from admitone.ledger import service as ledger
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import ChargeStatus, PaymentGateway, Refund
from admitone.payments.subscriptions import SubscriptionGateway


async def cancel(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    actor: Actor,
    subscription_id: uuid.UUID,
    *,
    at_period_end: bool,
    refund: bool,
) -> Subscription:
    if refund and at_period_end:
        raise InvalidInput(
            "A refund ends the subscription now: send at_period_end false.", field="refund"
        )
    async with open_uow() as uow:
        subscription = await subscriptions.get_for(uow, actor, subscription_id)
        if not subscriptions.is_live(subscription):
            raise SubscriptionEnded()
        if refund and not subscriptions.can_manage(actor, subscription):
            raise RefundNotAllowed(field="refund")
        charge = await subscriptions.charge_of(uow, subscription.id, subscription.period_number)
        refundable = (
            charge
            if refund
            and charge is not None
            and charge.state == ChargeState.SUCCEEDED
            and charge.amount > charge.amount_refunded
            else None
        )
        remote_id = subscription.gateway_subscription_id
        refund_key = f"subscription-{subscription.id}-period-{subscription.period_number}-refund"
    given: Refund | None = None
    try:
        paid_by = None if refundable is None else refundable.gateway_charge_id
        if refundable is not None and paid_by is None:
            paid_by = await _charge_of_latest_invoice(gateway, remote_id, refundable.amount)
        if remote_id is not None and isinstance(gateway, SubscriptionGateway):
            await gateway.cancel_subscription(
                remote_id,
                at_period_end=at_period_end,
                idempotency_key=f"subscription-{subscription_id}-cancel-{at_period_end}",
            )
        if refundable is not None and paid_by is not None:
            given = await gateway.refund(
                paid_by,
                idempotency_key=refund_key,
                amount=refundable.amount - refundable.amount_refunded,
            )
    except GatewayError as exc:
        raise SubscriptionGatewayDown(
            "The payment gateway could not cancel the subscription now; try again.",
            details={"reason": exc.code},
        ) from exc
    async with open_uow() as uow:
        kept = await subscriptions.locked(uow, subscription_id)
        assert kept is not None
        subscription = kept
        if given is not None and refundable is not None:
            charge = await subscriptions.charge_of(uow, subscription.id, refundable.period_number)
            assert charge is not None
            charge.amount_refunded += given.amount
            charge.gateway_charge_id = charge.gateway_charge_id or given.charge_id
            charge.updated_at = uow.clock.now()
            await ledger.subscription_refunded(
                uow,
                ledger.SubscriptionMoney(
                    organizer_id=subscription.organizer_id,
                    subscription_id=subscription.id,
                    amount=given.amount,
                    currency=given.currency,
                    gateway_ref=given.id,
                ),
            )
        if not subscriptions.is_live(subscription):
            return subscription  # a provider's event ended it meanwhile
        if at_period_end:
            subscription.cancel_at_period_end = True
            subscription.canceled_at = uow.clock.now()
            subscription.updated_at = uow.clock.now()
            await uow.flush()
            # Still a member until the period ends, when the renewal ends it
            # (``renewals._before_charging``) or the provider's event does.
            topics.publish_subscription(uow, subscription, "subscription_updated")
            return subscription
        await subscriptions.become(
            uow,
            subscription,
            SubscriptionStatus.CANCELED,
            action="canceled",
            amount=-given.amount if given is not None else None,
            reason="refunded" if given is not None else None,
        )
        return subscription


async def _charge_of_latest_invoice(
    gateway: PaymentGateway, remote_id: str | None, amount: int
) -> str | None:
    """The charge that paid a period reported by an invoice event, which names none (Stripe's):
    the provider's subscription's latest invoice is the running period's."""
    if remote_id is None or not isinstance(gateway, SubscriptionGateway):
        return None
    latest = (await gateway.retrieve_subscription(remote_id)).latest_charge
    if latest is None or latest.status is not ChargeStatus.SUCCEEDED or latest.amount != amount:
        return None
    return latest.id
