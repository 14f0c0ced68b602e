"""Renewals for a gateway that does not bill periods itself (the fake): billing charges each
period through ``PaymentGateway``.

A cron sweep finds the subscriptions whose period ended (and those whose grace ran out) and
enqueues one job per subscription and period. The job is a flow (rule 4): read and lock in a
short transaction, charge with no transaction open, settle in another. Its charge's idempotency
key names the subscription, the period and the attempt, so the job's own retries after a lost
answer (a timeout, the gateway down) ask with the same key and never charge twice; a declined
renewal is retried during the grace period under a new attempt number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, or_, select, tuple_

from admitone.billing import subscription_emails, subscriptions
from admitone.billing.models import RENEWABLE_STATES, Subscription, SubscriptionStatus
from admitone.billing.subscriptions import Paid, add_interval
from admitone.config import Settings
from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.jobs import service as jobs_service
from admitone.payments.errors import GatewayTimeout
from admitone.payments.gateway import Charge, ChargeRequest, ChargeStatus, PaymentGateway
from admitone.payments.subscriptions import SubscriptionGateway

log = structlog.get_logger(__name__)

SWEEP_JOB = "billing.sweep_subscriptions"
RENEW_JOB = "billing.renew_subscription"
SWEEP_BATCH = 500


def bills_periods(gateway: PaymentGateway) -> bool:
    return isinstance(gateway, SubscriptionGateway) and gateway.bills_periods


def period_key(subscription_id: uuid.UUID, period: int, attempt: int) -> str:
    return f"subscription-{subscription_id}-period-{period}-attempt-{attempt}"


@dataclass(frozen=True, slots=True)
class ToCharge:
    """What the gateway is asked, read before the transaction ends."""

    subscription_id: uuid.UUID
    period: int
    attempt: int
    amount: int
    currency: str
    payment_method: str | None
    customer_id: str | None


def to_charge(subscription: Subscription, period: int, attempt: int) -> ToCharge:
    return ToCharge(
        subscription.id,
        period,
        attempt,
        subscription.price,
        subscription.currency,
        subscription.gateway_payment_method,
        subscription.gateway_customer_id,
    )


async def charge_period(gateway: PaymentGateway, wanted: ToCharge) -> Charge:
    """Charge one period with no transaction open. A timeout is looked up by its key (the money
    may have moved); when that finds nothing, the timeout is raised for the caller to retry with
    the same key."""
    key = period_key(wanted.subscription_id, wanted.period, wanted.attempt)
    try:
        return await gateway.create_charge(
            ChargeRequest(
                amount=wanted.amount,
                currency=wanted.currency,
                idempotency_key=key,
                payment_method=wanted.payment_method,
                description=f"admitone subscription period {wanted.period}",
                metadata={
                    "subscription_id": str(wanted.subscription_id),
                    "period": str(wanted.period),
                },
                customer_id=wanted.customer_id,
            )
        )
    except GatewayTimeout:
        found = await gateway.find_charge(key)
        if found is None:
            raise
        return found


def paid_of(charge: Charge, *, period: int, start: datetime, end: datetime) -> Paid:
    return Paid(
        period_number=period,
        period_start=start,
        period_end=end,
        amount=charge.amount,
        currency=charge.currency,
        charge_id=charge.id,
        fee=charge.fee,
    )


# -- the sweep -----------------------------------------------------------------------------


async def sweep(uow: UnitOfWork, gateway: PaymentGateway) -> int:
    """Enqueue the renewals due (one job per subscription and period: a unique key) and the
    end of each grace run out; answers how many were found.

    Paged by a keyset cursor through every row due: a row whose job is stuck (waiting a long
    backoff, or failing again) stays due and oldest, and a single first page would pick the
    same stuck rows at every sweep and never reach the others."""
    if bills_periods(gateway):
        return 0
    now = uow.clock.now()
    due = or_(
        and_(
            Subscription.status.in_(RENEWABLE_STATES),
            Subscription.current_period_end <= now,
        ),
        and_(
            Subscription.status == SubscriptionStatus.PAST_DUE.value,
            Subscription.grace_until <= now,
        ),
    )
    found = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(
            Subscription.id,
            Subscription.period_number,
            Subscription.status,
            Subscription.current_period_end,
        ).where(Subscription.gateway == gateway.name, due)
        if after is not None:
            query = query.where(
                tuple_(Subscription.current_period_end, Subscription.id) > tuple_(*after)
            )
        rows = (
            await uow.session.execute(
                query.order_by(Subscription.current_period_end, Subscription.id).limit(SWEEP_BATCH)
            )
        ).all()
        for subscription_id, period_number, status, _ in rows:
            await _enqueue_renewal(uow, subscription_id, period_number, status)
        found += len(rows)
        if len(rows) < SWEEP_BATCH:
            return found
        after = (rows[-1].current_period_end, rows[-1].id)


async def _enqueue_renewal(
    uow: UnitOfWork, subscription_id: uuid.UUID, period_number: int, status: str
) -> None:
    # A grace run out ends the period rather than charging it: its own key, so it is not
    # taken for the declined renewal's job of the same period.
    slot = "end" if status == SubscriptionStatus.PAST_DUE.value else "1"
    await jobs_service.enqueue(
        uow,
        RENEW_JOB,
        {"subscription_id": str(subscription_id), "period": period_number + 1, "attempt": 1},
        unique_key=f"{RENEW_JOB}:{subscription_id}:{period_number + 1}:{slot}",
    )


# -- one renewal ---------------------------------------------------------------------------


async def renew(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    subscription_id: uuid.UUID,
    *,
    period: int,
    attempt: int,
) -> str:
    """Renew for ``period`` (its ``attempt``-th try); answers what happened. Run again, it
    does nothing twice: a period paid before is not charged, an ended subscription not
    touched."""
    async with open_uow() as uow:
        subscription = await subscriptions.locked(uow, subscription_id)
        outcome = await _before_charging(uow, subscription, period)
        if outcome is not None or subscription is None:
            return outcome or "missing"
        wanted = to_charge(subscription, period, attempt)
    charge = await charge_period(gateway, wanted)
    async with open_uow() as uow:
        subscription = await subscriptions.locked(uow, subscription_id)
        if (
            subscription is None
            or not subscriptions.is_live(subscription)
            or subscription.period_number >= period
        ):
            return "superseded"
        return await _settle(uow, settings, subscription, charge, period=period, attempt=attempt)


async def _before_charging(
    uow: UnitOfWork, subscription: Subscription | None, period: int
) -> str | None:
    """What ends the renewal without a charge, done; None when the period is to be charged."""
    if subscription is None:
        return "missing"
    if not subscriptions.is_live(subscription) or subscription.period_number >= period:
        return "nothing_due"
    now = uow.clock.now()
    end = subscription.current_period_end
    if end is None or end > now:
        return "not_due"
    if subscription.cancel_at_period_end:
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.CANCELED, action="canceled"
        )
        return "canceled"
    if subscription.status == SubscriptionStatus.PAST_DUE and (
        subscription.grace_until is not None and subscription.grace_until <= now
    ):
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.EXPIRED, action="expired", reason="unpaid"
        )
        await subscription_emails.send(uow, subscription, subscription_emails.EXPIRED)
        return "expired"
    if subscription.price == 0:
        # Nothing to charge: the free period starts on its own.
        anchor = await subscriptions.period_anchor(uow, subscription)
        subscriptions.start_period(
            subscription,
            number=period,
            start=end,
            end=add_interval(anchor, subscription.interval, period),
        )
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.ACTIVE, action="renewed", amount=0
        )
        return "renewed"
    return None


async def _settle(
    uow: UnitOfWork,
    settings: Settings,
    subscription: Subscription,
    charge: Charge,
    *,
    period: int,
    attempt: int,
) -> str:
    start = subscription.current_period_end
    assert start is not None
    end = add_interval(
        await subscriptions.period_anchor(uow, subscription), subscription.interval, period
    )
    if charge.status is ChargeStatus.SUCCEEDED:
        paid = paid_of(charge, period=period, start=start, end=end)
        await subscriptions.record_paid(uow, subscription, paid)
        subscriptions.start_period(
            subscription, number=period, start=paid.period_start, end=paid.period_end
        )
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.ACTIVE, action="renewed", amount=charge.amount
        )
        return "renewed"
    # Declined, or waiting for a buyer who is not there: the same to a renewal.
    reason = charge.failure_reason or "authentication_required"
    await subscriptions.record_failed(
        uow,
        subscription,
        period_number=period,
        period_start=start,
        period_end=end,
        reason=reason,
        attempt=attempt,
        charge_id=charge.id,
    )
    now = uow.clock.now()
    if subscription.status != SubscriptionStatus.PAST_DUE:
        subscription.past_due_since = now
        subscription.grace_until = now + timedelta(days=settings.subscription_grace_days)
        subscription.reminders_sent += 1
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.PAST_DUE, action="past_due", reason=reason
        )
        await subscription_emails.send(
            uow,
            subscription,
            subscription_emails.PAST_DUE,
            reason=reason.replace("_", " "),
            grace_until=subscription.grace_until.strftime("%d %B %Y"),
        )
    grace_until = subscription.grace_until
    assert grace_until is not None
    # The next try, or the end of the grace (where the job expires the subscription).
    next_at = min(now + timedelta(days=settings.subscription_retry_days), grace_until)
    await jobs_service.enqueue(
        uow,
        RENEW_JOB,
        {"subscription_id": str(subscription.id), "period": period, "attempt": attempt + 1},
        run_at=next_at,
        unique_key=f"{RENEW_JOB}:{subscription.id}:{period}:{attempt + 1}",
    )
    return "past_due"
