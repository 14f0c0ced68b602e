"""Membership as the other domains see it: the plans a tier may require (checked for events
when a tier is written) and the plans a buyer is a member of (looked up for ticketing when a
members-only tier is bought). ``registrations`` hands both over at import time.

A user is a member of a plan while one of their subscriptions of it is trialing, active, or
past due (the grace period keeps access). An archived plan keeps its members: archiving only
stops new subscriptions.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import select

from admitone.billing.models import MEMBER_STATES, Plan, Subscription
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service


async def member_plans(
    uow: UnitOfWork, user_id: uuid.UUID, plan_ids: Collection[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Those of ``plan_ids`` ``user_id`` is a member of, in one query (on the subscriptions'
    per-user index)."""
    rows = await uow.session.scalars(
        select(Subscription.plan_id).where(
            Subscription.user_id == user_id,
            Subscription.plan_id.in_(list(plan_ids)),
            Subscription.status.in_(MEMBER_STATES),
        )
    )
    return frozenset(rows)


async def check_required_plans(
    uow: UnitOfWork,
    organizer_id: uuid.UUID,
    currency: str,
    plan_ids: Sequence[uuid.UUID],
    field: str,
) -> None:
    """Each plan a tier would require is a live plan of the event's organizer in the event's
    currency. Another organizer's plan looks missing, as an archived one does (nobody could
    become a member of it any more)."""
    # Rule 8 in the query: another organizer's plan, or an archived one, is not found.
    found = {
        plan.id: plan
        for plan in await uow.session.scalars(
            select(Plan).where(
                Plan.id.in_(list(plan_ids)),
                Plan.organizer_id == organizer_id,
                Plan.archived_at.is_(None),
            )
        )
    }
    for index, plan_id in enumerate(plan_ids):
        plan = found.get(plan_id)
        if plan is None:
            raise events_service.PlanNotFound(
                field=f"{field}.{index}", details={"plan_id": str(plan_id)}
            )
        if plan.currency != currency:
            raise events_service.PlanCurrencyMismatch(
                field=f"{field}.{index}",
                details={
                    "plan_id": str(plan_id),
                    "plan_currency": plan.currency,
                    "event_currency": currency,
                },
            )
