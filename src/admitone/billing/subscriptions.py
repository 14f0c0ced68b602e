"""A subscription's states and what each change does besides: the period charge booked, the
topics told, the activity recorded and the subscriber emailed, all in the caller's transaction.

    incomplete -> trialing | active            (subscribe: trial, or the first period paid)
    trialing | active -> active                 (a period paid: renewed)
    trialing | active -> past_due               (a renewal declined: grace starts)
    past_due -> active                          (paid during the grace)
    past_due -> expired                         (the grace ran out; also an unpaid first period)
    any live state -> canceled                  (now, or at the end of the paid period)

Activity entries carry ids, statuses and amounts only.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, false, or_, select

from admitone.accounts.models import Role
from admitone.activity import service as activity_service
from admitone.billing import topics
from admitone.billing.errors import SubscriptionNotFound
from admitone.billing.models import (
    LIVE_STATES,
    ChargeState,
    PlanInterval,
    Subscription,
    SubscriptionCharge,
    SubscriptionStatus,
)
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page, paginate
from admitone.ledger import service as ledger

ENDED_STATES = (SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED)


def add_interval(start: datetime, interval: str, periods: int = 1) -> datetime:
    """``start`` moved by whole calendar months or years, the day clamped to the month's end
    (a month from 31 January is 28 or 29 February), as card schemes bill."""
    months = periods * (12 if interval == PlanInterval.YEAR else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


# -- reading -------------------------------------------------------------------------------


def _reachable(actor: Actor) -> list[ColumnElement[bool]]:
    """Rule 8 in the query: the subscriber and the plan's organizer; staff see every one."""
    if actor.is_staff:
        return []
    if actor.uuid is None:
        return [false()]
    return [or_(Subscription.user_id == actor.uuid, Subscription.organizer_id == actor.uuid)]


async def get_for(uow: UnitOfWork, actor: Actor, subscription_id: uuid.UUID) -> Subscription:
    found = await uow.session.scalar(
        select(Subscription).where(Subscription.id == subscription_id, *_reachable(actor))
    )
    if found is None:
        raise SubscriptionNotFound()
    return found


async def list_for(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: SubscriptionStatus | None,
    plan_id: uuid.UUID | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Subscription]:
    stmt = select(Subscription).where(*_reachable(actor))
    if status is not None:
        stmt = stmt.where(Subscription.status == status.value)
    if plan_id is not None:
        stmt = stmt.where(Subscription.plan_id == plan_id)
    return await paginate(
        uow.session,
        stmt,
        created_at=Subscription.created_at,
        row_id=Subscription.id,
        limit=limit,
        cursor=cursor,
    )


def ids_of_subscriber(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of a user's subscriptions as a subquery, so the statement scopes its ledger
    entries by owner in the one query that reads them (rule 8)."""
    return select(Subscription.id).where(Subscription.user_id == user_id)


async def locked(uow: UnitOfWork, subscription_id: uuid.UUID) -> Subscription | None:
    """The row, locked until the caller's (short) transaction ends on PostgreSQL, so a renewal
    job and a provider's event never apply two changes from one stale read."""
    return await uow.session.scalar(
        select(Subscription)
        .where(Subscription.id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def by_gateway_ref(uow: UnitOfWork, gateway_subscription_id: str) -> Subscription | None:
    return await uow.session.scalar(
        select(Subscription)
        .where(Subscription.gateway_subscription_id == gateway_subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def charge_of(
    uow: UnitOfWork, subscription_id: uuid.UUID, period_number: int
) -> SubscriptionCharge | None:
    return await uow.session.scalar(
        select(SubscriptionCharge).where(
            SubscriptionCharge.subscription_id == subscription_id,
            SubscriptionCharge.period_number == period_number,
        )
    )


async def period_anchor(uow: UnitOfWork, subscription: Subscription) -> datetime:
    """Period 1's start. Period n ends n intervals after it (not one after period n-1's end),
    so a subscription from 31 January renews on 28 February, then 31 March, never the 28th
    for ever. A free plan has no charge row: its creation is its first period's start."""
    if subscription.trial_end is not None:
        return subscription.trial_end
    first = await uow.session.scalar(
        select(SubscriptionCharge.period_start).where(
            SubscriptionCharge.subscription_id == subscription.id,
            SubscriptionCharge.period_number == 1,
        )
    )
    return first if first is not None else subscription.created_at


def is_live(subscription: Subscription) -> bool:
    return subscription.status in LIVE_STATES


def can_manage(actor: Actor, subscription: Subscription) -> bool:
    """The plan's organizer and staff: they may end a subscription now with a refund."""
    return actor.is_staff or (
        actor.uuid is not None
        and actor.uuid == subscription.organizer_id
        and actor.role in (Role.ORGANIZER.value, Role.ADMIN.value, Role.OWNER.value)
    )


# -- changing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paid:
    """A period's payment as the gateway reported it."""

    period_number: int
    period_start: datetime
    period_end: datetime
    amount: int
    currency: str
    charge_id: str | None
    fee: int | None = None
    invoice_id: str | None = None


async def record_paid(uow: UnitOfWork, subscription: Subscription, paid: Paid) -> bool:
    """Book a period's payment once (its charge row is unique per period, the ledger keys on
    the gateway's charge); answers False when it was booked before."""
    charge = await charge_of(uow, subscription.id, paid.period_number)
    now = uow.clock.now()
    if charge is None:
        charge = SubscriptionCharge(
            id=new_uuid(),
            subscription_id=subscription.id,
            period_number=paid.period_number,
            period_start=paid.period_start,
            period_end=paid.period_end,
            amount=paid.amount,
            currency=paid.currency,
            state=ChargeState.PENDING.value,
            attempts=1,
            amount_refunded=0,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(charge)
    elif charge.state == ChargeState.SUCCEEDED:
        if paid.invoice_id and charge.gateway_invoice_id is None:
            charge.gateway_invoice_id = paid.invoice_id
        return False
    charge.state = ChargeState.SUCCEEDED.value
    charge.gateway_charge_id = paid.charge_id
    charge.gateway_invoice_id = paid.invoice_id or charge.gateway_invoice_id
    charge.fee = paid.fee
    charge.failure_reason = None
    charge.amount = paid.amount
    charge.currency = paid.currency
    charge.updated_at = now
    await uow.flush()
    if paid.amount > 0:
        await ledger.subscription_charged(
            uow,
            ledger.SubscriptionMoney(
                organizer_id=subscription.organizer_id,
                subscription_id=subscription.id,
                amount=paid.amount,
                currency=paid.currency,
                gateway_ref=paid.charge_id
                or paid.invoice_id
                or f"{subscription.id}-{paid.period_number}",
                fee=paid.fee,
            ),
        )
    return True


async def record_failed(
    uow: UnitOfWork,
    subscription: Subscription,
    *,
    period_number: int,
    period_start: datetime,
    period_end: datetime,
    reason: str,
    attempt: int,
    charge_id: str | None = None,
) -> None:
    now = uow.clock.now()
    charge = await charge_of(uow, subscription.id, period_number)
    if charge is None:
        charge = SubscriptionCharge(
            id=new_uuid(),
            subscription_id=subscription.id,
            period_number=period_number,
            period_start=period_start,
            period_end=period_end,
            amount=subscription.price,
            currency=subscription.currency,
            amount_refunded=0,
            created_at=now,
        )
        uow.session.add(charge)
    elif charge.state == ChargeState.SUCCEEDED:
        return
    charge.state = ChargeState.FAILED.value
    charge.failure_reason = reason[:100]
    charge.gateway_charge_id = charge_id or charge.gateway_charge_id
    charge.attempts = max(charge.attempts or 0, attempt)
    charge.updated_at = now
    await uow.flush()


def start_period(
    subscription: Subscription, *, number: int, start: datetime, end: datetime
) -> None:
    subscription.period_number = number
    subscription.current_period_start = start
    subscription.current_period_end = end


async def become(
    uow: UnitOfWork,
    subscription: Subscription,
    status: SubscriptionStatus,
    *,
    action: str,
    amount: int | None = None,
    reason: str | None = None,
) -> None:
    """Move to ``status`` and tell: its topics, the activity log (``billing.subscription_*``)."""
    old = subscription.status
    now = uow.clock.now()
    subscription.status = status.value
    subscription.updated_at = now
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        subscription.past_due_since = None
        subscription.grace_until = None
        subscription.reminders_sent = 0
    if status in ENDED_STATES and subscription.ended_at is None:
        subscription.ended_at = now
    if status is SubscriptionStatus.CANCELED and subscription.canceled_at is None:
        subscription.canceled_at = now
    await uow.flush()
    metadata: dict[str, object] = {
        "subscription_uuid": subscription.id,
        "old_status": old,
        "new_status": status.value,
    }
    if amount is not None:
        metadata |= {"amount": amount, "currency": subscription.currency}
    if reason is not None:
        metadata["reason"] = reason
    await activity_service.record(
        uow,
        f"billing.subscription_{action}",
        resource_type="subscription",
        resource_uuid=subscription.id,
        metadata=metadata,
    )
    topics.publish_subscription(uow, subscription, f"subscription_{action}")
