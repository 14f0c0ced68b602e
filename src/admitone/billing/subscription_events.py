"""What a provider's subscription event does to billing's subscription, in the webhook's
transaction (the event id is recorded first there, so each event is applied once; a replay
with another id still finds its charge booked).

Events arrive in any order: a state change older than the newest one applied (``created`` <
``last_event_at``) is ignored as ``stale``. A payment is never stale: ``invoice.paid`` books its
period's charge once, by the invoice's id, whenever it arrives. A trial's invoice of 0 pays no
period: it is only logged, the trial's status is the subscription events'.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from admitone.billing import subscription_emails, subscription_fees, subscriptions
from admitone.billing.models import (
    ChargeState,
    Subscription,
    SubscriptionCharge,
    SubscriptionStatus,
)
from admitone.billing.subscribe import status_of
from admitone.billing.subscriptions import Paid
from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.payments.subscriptions import SubscriptionEvent, SubscriptionEventKind

log = structlog.get_logger(__name__)


async def apply(uow: UnitOfWork, event: SubscriptionEvent, settings: Settings) -> str:
    subscription = await subscriptions.by_gateway_ref(uow, event.subscription_id)
    if subscription is None:
        return "ignored"
    if event.kind is SubscriptionEventKind.INVOICE_PAID:
        outcome = await _paid(uow, subscription, event)
    elif _stale(subscription, event.created):
        return "stale"
    elif event.kind is SubscriptionEventKind.INVOICE_PAYMENT_FAILED:
        outcome = await _failed(uow, subscription, settings.subscription_grace_days)
    elif event.kind is SubscriptionEventKind.UPDATED:
        outcome = await _updated(uow, subscription, event)
    else:
        outcome = await _deleted(uow, subscription, event)
    if subscription.last_event_at is None or event.created > subscription.last_event_at:
        subscription.last_event_at = event.created
    await uow.flush()
    return outcome


def _stale(subscription: Subscription, created: datetime) -> bool:
    return subscription.last_event_at is not None and created < subscription.last_event_at


async def _paid(uow: UnitOfWork, subscription: Subscription, event: SubscriptionEvent) -> str:
    if event.amount == 0:
        # Booked as a period it would make the trial ACTIVE with a paid period it never had
        # and number every later period one too high.
        log.info(
            "subscription_free_invoice", subscription=str(subscription.id), invoice=event.invoice_id
        )
        return "free_period"
    if event.invoice_id is not None:
        booked = await uow.session.scalar(
            select(SubscriptionCharge.id).where(
                SubscriptionCharge.gateway_invoice_id == event.invoice_id,
                SubscriptionCharge.state == ChargeState.SUCCEEDED.value,
            )
        )
        if booked is not None:
            return "duplicate"
    start = event.current_period_start or subscription.current_period_start
    end = event.current_period_end or subscription.current_period_end
    assert start is not None and end is not None
    # The period this invoice pays: one charged before keeps its number (the first period's
    # charge taken at subscribe, reported again; a failed renewal paid on a retry), else it is
    # the next. Decided by the charges, not the running period: Stripe sends the update that
    # moves the period before the invoice that pays it.
    known = await uow.session.scalar(
        select(SubscriptionCharge.period_number).where(
            SubscriptionCharge.subscription_id == subscription.id,
            SubscriptionCharge.period_start == start,
        )
    )
    number = known if known is not None else subscription.period_number + 1
    booked_now = await subscriptions.record_paid(
        uow,
        subscription,
        Paid(
            period_number=number,
            period_start=start,
            period_end=end,
            amount=event.amount if event.amount is not None else subscription.price,
            currency=(event.currency or subscription.currency).upper(),
            charge_id=event.charge_id,
            invoice_id=event.invoice_id,
        ),
    )
    if not booked_now:
        return "duplicate"
    if event.invoice_id is not None:
        # Every charge of a subscription has its fee posted, as at subscribe.
        await subscription_fees.fee_later(
            uow,
            subscription,
            invoice_id=event.invoice_id,
            gateway_ref=event.charge_id or event.invoice_id,
        )
    if subscriptions.is_live(subscription):
        if number > subscription.period_number:
            subscriptions.start_period(subscription, number=number, start=start, end=end)
        await subscriptions.become(
            uow,
            subscription,
            SubscriptionStatus.ACTIVE,
            action="created" if subscription.status == SubscriptionStatus.INCOMPLETE else "renewed",
            amount=event.amount,
        )
    return "paid"


async def _failed(uow: UnitOfWork, subscription: Subscription, grace_days: int) -> str:
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        return "unchanged"
    now = uow.clock.now()
    subscription.past_due_since = now
    # The provider retries the invoice on its own schedule; the member keeps access for the
    # same grace as a renewal billing charges itself.
    subscription.grace_until = now + timedelta(days=grace_days)
    subscription.reminders_sent += 1
    await subscriptions.become(
        uow, subscription, SubscriptionStatus.PAST_DUE, action="past_due", reason="payment_failed"
    )
    await subscription_emails.send(
        uow,
        subscription,
        subscription_emails.PAST_DUE,
        reason="payment failed",
        grace_until=subscription.grace_until.strftime("%d %B %Y"),
    )
    return "past_due"


async def _updated(uow: UnitOfWork, subscription: Subscription, event: SubscriptionEvent) -> str:
    if event.cancel_at_period_end is not None:
        subscription.cancel_at_period_end = event.cancel_at_period_end
    if event.current_period_start is not None and event.current_period_end is not None:
        subscription.current_period_start = event.current_period_start
        subscription.current_period_end = event.current_period_end
    if event.status is None or not subscriptions.is_live(subscription):
        return "updated"
    status = status_of(event.status)
    if status.value == subscription.status:
        return "updated"
    action = {
        SubscriptionStatus.ACTIVE: "renewed",
        SubscriptionStatus.TRIALING: "renewed",
        SubscriptionStatus.PAST_DUE: "past_due",
        SubscriptionStatus.CANCELED: "canceled",
        SubscriptionStatus.EXPIRED: "expired",
    }.get(status)
    if action is None:
        return "updated"
    await subscriptions.become(uow, subscription, status, action=action)
    return status.value


async def _deleted(uow: UnitOfWork, subscription: Subscription, event: SubscriptionEvent) -> str:
    if not subscriptions.is_live(subscription):
        return "unchanged"
    unpaid = subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE)
    subscription.ended_at = event.created
    if unpaid:
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.EXPIRED, action="expired", reason="unpaid"
        )
        return "expired"
    await subscriptions.become(uow, subscription, SubscriptionStatus.CANCELED, action="canceled")
    return "canceled"
