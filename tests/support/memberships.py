"""Membership plans and subscriptions as rows, for tests that need a member (or a former one)
without going through the subscription flow: written through the models in a unit of work."""

from __future__ import annotations

import uuid
from datetime import timedelta

from admitone.billing.models import Plan, Subscription, SubscriptionStatus
from admitone.runtime import Runtime


async def make_plan(
    runtime: Runtime,
    organizer_id: uuid.UUID,
    *,
    price: int = 900,
    currency: str = "USD",
    interval: str = "month",
    archived: bool = False,
) -> uuid.UUID:
    async with runtime.unit_of_work() as uow:
        now = uow.clock.now()
        plan = Plan(
            id=uuid.uuid4(),
            organizer_id=organizer_id,
            name="Members",
            description=None,
            price=price,
            currency=currency,
            interval=interval,
            trial_days=0,
            archived_at=now if archived else None,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(plan)
    return plan.id


async def subscribe(
    runtime: Runtime,
    user_id: uuid.UUID,
    plan_id: uuid.UUID,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> uuid.UUID:
    """A subscription of ``user_id`` to the plan in ``status``, its period running now."""
    async with runtime.unit_of_work() as uow:
        plan = await uow.session.get(Plan, plan_id)
        assert plan is not None
        now = uow.clock.now()
        ended = status in (SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED)
        subscription = Subscription(
            id=uuid.uuid4(),
            user_id=user_id,
            plan_id=plan_id,
            organizer_id=plan.organizer_id,
            status=status.value,
            price=plan.price,
            currency=plan.currency,
            interval=plan.interval,
            gateway="fake",
            period_number=1,
            current_period_start=now,
            current_period_end=now + timedelta(days=30),
            cancel_at_period_end=False,
            canceled_at=now if status == SubscriptionStatus.CANCELED else None,
            ended_at=now if ended else None,
            reminders_sent=0,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(subscription)
    return subscription.id


async def set_status(
    runtime: Runtime, subscription_id: uuid.UUID, status: SubscriptionStatus
) -> None:
    """Move a subscription to ``status`` as its lifecycle would (a lapse, a renewal)."""
    async with runtime.unit_of_work() as uow:
        subscription = await uow.session.get(Subscription, subscription_id)
        assert subscription is not None
        subscription.status = status.value
        subscription.updated_at = uow.clock.now()
