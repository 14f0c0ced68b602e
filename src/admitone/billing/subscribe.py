"""Subscribing, as a flow (rules 1 and 4): the subscription is inserted ``incomplete`` in a
short transaction, the gateway is asked with none open, and the answer is settled in another.

The one-live-subscription-per-user-and-plan index decides a race: of two requests, one inserts
and the other is answered ``already_subscribed``. When the gateway cannot be reached the
subscription is removed again (nothing half-written) and the answer is a 503 to retry, unless
the provider bills the periods itself: its subscription may exist already (the answer was lost
after the create), so ours is kept ``incomplete`` and a job replays the create with the same
idempotency key, which settles it (a 503 ``subscription_being_confirmed``). A declined first
payment ends it ``expired``, kept with its failed charge for the record.

Settling claims the row only while it is still ``incomplete``: a cancel or the account's
deletion during the gateway call ended it, and it stays ended; a job then refunds the charge
taken, or cancels the provider's subscription.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from admitone.accounts.models import User
from admitone.billing import erasure, subscriptions
from admitone.billing.errors import (
    AlreadySubscribed,
    PlanArchived,
    PlanNotFound,
    SubscriptionBeingConfirmed,
    SubscriptionGatewayDown,
    SubscriptionPaymentFailed,
)
from admitone.billing.models import (
    LIVE_STATES,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from admitone.billing.renewals import bills_periods, charge_period, paid_of, to_charge
from admitone.billing.subscriptions import Paid, add_interval
from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.ids import new_uuid
from admitone.jobs import service as jobs_service
from admitone.payments import customers as payment_customers
from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from admitone.payments.gateway import Charge, ChargeStatus, CustomerGateway, PaymentGateway
from admitone.payments.subscriptions import (
    GatewaySubscription,
    GatewaySubscriptionStatus,
    PlanPrice,
    SubscriptionGateway,
    SubscriptionRequest,
)

log = structlog.get_logger(__name__)

CONFIRM_JOB = "billing.confirm_subscription"
REFUND_UNSETTLED_JOB = "billing.refund_unsettled_subscription_charge"


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription
    # For the browser to confirm the first payment at a provider that needs the buyer.
    client_secret: str | None = None


async def subscribe(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    user: User,
    plan_id: uuid.UUID,
    payment_method: str | None,
) -> Subscribed:
    async with open_uow() as uow:
        plan = await _plan(uow, plan_id)
        await _refuse_second(uow, user.id, plan.id)
    try:
        async with open_uow() as uow:
            subscription = _new(uow, user, plan, gateway.name, payment_method)
            uow.session.add(subscription)
            await uow.flush()
    except IntegrityError as exc:
        # Another request of the same user for the same plan won the index (or the plan or the
        # user went away meanwhile: the look-up above answered for those).
        raise AlreadySubscribed(field="plan_id") from exc
    price = PlanPrice(str(plan.id), plan.name, plan.price, plan.currency, plan.interval)
    try:
        return await _with_gateway(
            open_uow, gateway, user, subscription, price=price, trial_days=plan.trial_days
        )
    except (GatewayTimeout, GatewayUnavailable) as exc:
        log.warning("subscription_gateway_down", subscription_id=str(subscription.id))
        if bills_periods(gateway):
            await _confirm_later(open_uow, subscription.id)
            raise SubscriptionBeingConfirmed(
                details={"reason": exc.code, "subscription_id": str(subscription.id)}
            ) from exc
        await _forget(open_uow, subscription.id)
        raise SubscriptionGatewayDown(details={"reason": exc.code}) from exc
    except GatewayError as exc:
        # Refused outright (an unknown payment method, say): nothing was charged or kept.
        await _forget(open_uow, subscription.id)
        raise SubscriptionPaymentFailed(
            "The payment gateway refused the payment; nothing was charged.",
            details={"reason": exc.code},
            field="payment_method",
        ) from exc


async def _with_gateway(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    user: User,
    subscription: Subscription,
    *,
    price: PlanPrice,
    trial_days: int,
) -> Subscribed:
    customer_id = await _customer(open_uow, gateway, user)
    remote: GatewaySubscription | None = None
    if isinstance(gateway, SubscriptionGateway):
        remote = await gateway.create_subscription(
            SubscriptionRequest(
                plan=price,
                idempotency_key=f"subscription-{subscription.id}-create",
                customer_id=customer_id,
                payment_method=subscription.gateway_payment_method,
                trial_days=trial_days,
                metadata={"subscription_id": str(subscription.id)},
            )
        )
    if remote is not None and bills_periods(gateway):
        return await _take_remote(open_uow, subscription.id, remote, customer_id)
    charge: Charge | None = None
    if trial_days == 0 and subscription.price > 0:
        wanted = to_charge(subscription, 1, 1)
        charge = await charge_period(gateway, replace(wanted, customer_id=customer_id))
    async with open_uow() as uow:
        kept = await _claim(uow, subscription.id)
        if kept is None:
            if charge is not None and charge.status is ChargeStatus.SUCCEEDED:
                await _refund_later(uow, subscription.id, charge.id)
            return Subscribed(await _ended(uow, subscription.id))
        kept.gateway_customer_id = customer_id
        kept.gateway_subscription_id = remote.id if remote is not None else None
        declined = await _settle_own(uow, kept, trial_days, charge)
    if declined is not None:
        raise SubscriptionPaymentFailed(details={"reason": declined}, field="payment_method")
    return Subscribed(kept)


async def _settle_own(
    uow: UnitOfWork, subscription: Subscription, trial_days: int, charge: Charge | None
) -> str | None:
    """Settle what billing charged itself; answers the decline reason, if declined."""
    now = uow.clock.now()
    if trial_days > 0:
        trial_end = now + timedelta(days=trial_days)
        subscription.trial_end = trial_end
        subscriptions.start_period(subscription, number=0, start=now, end=trial_end)
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.TRIALING, action="created", amount=0
        )
        return None
    if charge is None:  # a free plan
        subscriptions.start_period(
            subscription, number=1, start=now, end=add_interval(now, subscription.interval)
        )
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.ACTIVE, action="created", amount=0
        )
        return None
    if charge.status is ChargeStatus.SUCCEEDED:
        paid = paid_of(charge, period=1, start=now, end=add_interval(now, subscription.interval))
        await subscriptions.record_paid(uow, subscription, paid)
        subscriptions.start_period(subscription, number=1, start=now, end=paid.period_end)
        await subscriptions.become(
            uow, subscription, SubscriptionStatus.ACTIVE, action="created", amount=charge.amount
        )
        return None
    reason = charge.failure_reason or "authentication_required"
    await subscriptions.record_failed(
        uow,
        subscription,
        period_number=1,
        period_start=now,
        period_end=add_interval(now, subscription.interval),
        reason=reason,
        attempt=1,
        charge_id=charge.id,
    )
    await subscriptions.become(
        uow, subscription, SubscriptionStatus.EXPIRED, action="expired", reason=reason
    )
    return reason


_FROM_REMOTE = {
    GatewaySubscriptionStatus.ACTIVE: SubscriptionStatus.ACTIVE,
    GatewaySubscriptionStatus.TRIALING: SubscriptionStatus.TRIALING,
    GatewaySubscriptionStatus.INCOMPLETE: SubscriptionStatus.INCOMPLETE,
    GatewaySubscriptionStatus.PAST_DUE: SubscriptionStatus.PAST_DUE,
    GatewaySubscriptionStatus.UNPAID: SubscriptionStatus.PAST_DUE,
    GatewaySubscriptionStatus.CANCELED: SubscriptionStatus.CANCELED,
    GatewaySubscriptionStatus.INCOMPLETE_EXPIRED: SubscriptionStatus.EXPIRED,
}


def status_of(remote: GatewaySubscriptionStatus) -> SubscriptionStatus:
    return _FROM_REMOTE[remote]


async def _take_remote(
    open_uow: OpenUnitOfWork,
    subscription_id: uuid.UUID,
    remote: GatewaySubscription,
    customer_id: str | None,
) -> Subscribed:
    """A provider that bills periods: its subscription is the truth; its later periods arrive
    as events (``subscription_events``)."""
    async with open_uow() as uow:
        claimed = await _claim(uow, subscription_id)
        if claimed is None:
            ended = await _ended(uow, subscription_id)
            # Kept so the job finds what to cancel; the row itself stays as it ended.
            ended.gateway_subscription_id = remote.id
            await jobs_service.enqueue(
                uow,
                erasure.CANCEL_AT_GATEWAY_JOB,
                {"subscription_id": str(subscription_id)},
                unique_key=f"{erasure.CANCEL_AT_GATEWAY_JOB}:{subscription_id}",
            )
            return Subscribed(ended)
        subscription = claimed
        subscription.gateway_subscription_id = remote.id
        subscription.gateway_customer_id = customer_id
        status = status_of(remote.status)
        unpaid = status in (SubscriptionStatus.TRIALING, SubscriptionStatus.INCOMPLETE)
        subscriptions.start_period(
            subscription,
            number=0 if unpaid else 1,
            start=remote.current_period_start,
            end=remote.current_period_end,
        )
        subscription.cancel_at_period_end = remote.cancel_at_period_end
        if status is SubscriptionStatus.TRIALING:
            subscription.trial_end = remote.current_period_end
        charge = remote.latest_charge
        if charge is not None and charge.status is ChargeStatus.SUCCEEDED:
            await subscriptions.record_paid(
                uow,
                subscription,
                Paid(
                    period_number=1,
                    period_start=remote.current_period_start,
                    period_end=remote.current_period_end,
                    amount=charge.amount,
                    currency=charge.currency,
                    charge_id=charge.id,
                    fee=charge.fee,
                ),
            )
        if status is SubscriptionStatus.INCOMPLETE:
            await uow.flush()
        else:
            await subscriptions.become(
                uow,
                subscription,
                status,
                action="created",
                amount=charge.amount if charge is not None else 0,
            )
    return Subscribed(subscription, remote.client_secret)


async def _claim(uow: UnitOfWork, subscription_id: uuid.UUID) -> Subscription | None:
    """The row, locked, if it is still ``incomplete``: the conditional update decides against a
    cancel or a deletion that ended it during the gateway call, on both databases."""
    claimed = await uow.session.execute(
        update(Subscription)
        .where(
            Subscription.id == subscription_id,
            Subscription.status == SubscriptionStatus.INCOMPLETE.value,
        )
        .values(updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        log.warning("subscription_ended_while_subscribing", subscription_id=str(subscription_id))
        return None
    return await subscriptions.locked(uow, subscription_id)


async def _ended(uow: UnitOfWork, subscription_id: uuid.UUID) -> Subscription:
    ended = await subscriptions.locked(uow, subscription_id)
    assert ended is not None  # only ever removed by this flow
    return ended


async def _refund_later(uow: UnitOfWork, subscription_id: uuid.UUID, charge_id: str) -> None:
    await jobs_service.enqueue(
        uow,
        REFUND_UNSETTLED_JOB,
        {"subscription_id": str(subscription_id), "charge_id": charge_id},
        unique_key=f"{REFUND_UNSETTLED_JOB}:{subscription_id}",
    )


async def refund_unsettled(
    gateway: PaymentGateway, subscription_id: uuid.UUID, charge_id: str
) -> None:
    """Give back a first charge whose subscription ended before it was settled: it was never
    booked, so nothing is posted either."""
    await gateway.refund(charge_id, idempotency_key=f"subscription-{subscription_id}-unsettled")


async def _confirm_later(open_uow: OpenUnitOfWork, subscription_id: uuid.UUID) -> None:
    async with open_uow() as uow:
        await jobs_service.enqueue(
            uow,
            CONFIRM_JOB,
            {"subscription_id": str(subscription_id)},
            unique_key=f"{CONFIRM_JOB}:{subscription_id}",
        )


async def confirm(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, subscription_id: uuid.UUID
) -> None:
    """Replay the create whose answer was lost, with the same key (the provider answers the
    subscription it made, or makes it now), and settle it. A gateway still down raises for the
    job's retry; a refusal of the create itself means nothing exists there: forget ours."""
    async with open_uow() as uow:
        subscription = await uow.session.get(Subscription, subscription_id)
        if subscription is None or subscription.gateway_subscription_id is not None:
            return
        user = await uow.session.get(User, subscription.user_id) if subscription.user_id else None
        plan = await uow.session.get(Plan, subscription.plan_id)
    if user is None or plan is None:
        log.warning("subscription_unconfirmable", subscription_id=str(subscription_id))
        return
    price = PlanPrice(
        str(plan.id), plan.name, subscription.price, subscription.currency, subscription.interval
    )
    try:
        await _with_gateway(
            open_uow, gateway, user, subscription, price=price, trial_days=plan.trial_days
        )
    except (GatewayTimeout, GatewayUnavailable):
        raise
    except GatewayError:
        await _forget(open_uow, subscription_id)


async def _plan(uow: UnitOfWork, plan_id: uuid.UUID) -> Plan:
    plan = await uow.session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(field="plan_id")
    if plan.archived_at is not None:
        raise PlanArchived(field="plan_id")
    return plan


async def _refuse_second(uow: UnitOfWork, user_id: uuid.UUID, plan_id: uuid.UUID) -> None:
    live = await uow.session.scalar(
        select(Subscription.id).where(
            Subscription.user_id == user_id,
            Subscription.plan_id == plan_id,
            Subscription.status.in_(LIVE_STATES),
        )
    )
    if live is not None:
        raise AlreadySubscribed(field="plan_id", details={"subscription_id": str(live)})


def _new(
    uow: UnitOfWork, user: User, plan: Plan, gateway: str, payment_method: str | None
) -> Subscription:
    now = uow.clock.now()
    return Subscription(
        id=new_uuid(),
        user_id=user.id,
        plan_id=plan.id,
        organizer_id=plan.organizer_id,
        status=SubscriptionStatus.INCOMPLETE.value,
        price=plan.price,
        currency=plan.currency,
        interval=plan.interval,
        gateway=gateway,
        gateway_payment_method=payment_method,
        period_number=0,
        cancel_at_period_end=False,
        reminders_sent=0,
        created_at=now,
        updated_at=now,
    )


async def _customer(open_uow: OpenUnitOfWork, gateway: PaymentGateway, user: User) -> str | None:
    if not isinstance(gateway, CustomerGateway):
        return None
    async with open_uow() as uow:
        known = await payment_customers.known_customer(uow, gateway, user.id)
    if known is not None:
        return known
    created = await payment_customers.create_customer(
        gateway, user_id=user.id, email=user.email, name=user.name
    )
    if created is None:
        return None
    try:
        async with open_uow() as uow:
            return await payment_customers.keep_customer(uow, gateway, user.id, created)
    except IntegrityError:
        return created


async def _forget(open_uow: OpenUnitOfWork, subscription_id: uuid.UUID) -> None:
    """The gateway refused the create, or (billing charging itself) never answered: nothing of
    the attempt is kept (no charge was taken, or the lookup by its key would have found it)."""
    async with open_uow() as uow:
        await uow.session.execute(delete(Subscription).where(Subscription.id == subscription_id))
