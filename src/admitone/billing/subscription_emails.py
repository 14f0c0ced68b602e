"""The subscriber's emails about a renewal: the reminder when it is declined and the notice
when the grace period runs out. Each is logged, and its delivery enqueued as a job, in the
transaction of the change it tells about, so both commit or vanish together."""

from __future__ import annotations

from sqlalchemy import select

from admitone.accounts import service as accounts_service
from admitone.billing.models import Plan, Subscription
from admitone.core.db import UnitOfWork
from admitone.core.money import Money
from admitone.notifications import service as notifications_service

RELATED_TYPE = "subscription"
PAST_DUE = "subscription_past_due"
EXPIRED = "subscription_expired"


async def send(uow: UnitOfWork, subscription: Subscription, template: str, **extra: str) -> bool:
    """Email the subscriber; False when there is nobody to email (a deleted account)."""
    if subscription.user_id is None:
        return False
    user = await accounts_service.get_user(uow, subscription.user_id)
    if user is None:
        return False
    plan = await uow.session.scalar(select(Plan.name).where(Plan.id == subscription.plan_id))
    amount = Money(subscription.price, subscription.currency).to_decimal_string()
    await notifications_service.send_email(
        uow,
        to=user.email,
        template=template,
        context={
            "name": user.name,
            "plan": plan or "membership",
            "amount": f"{amount} {subscription.currency}",
            **extra,
        },
        related_type=RELATED_TYPE,
        related_id=subscription.id,
    )
    return True
