"""Membership plans: what an organizer sells by the month or the year. A plan is archived,
never deleted: its subscriptions keep naming it, and its members keep their access until their
subscriptions end; nobody new can subscribe to it.

A plan's price, currency and interval are fixed once anyone subscribed (subscriptions copy them
anyway, but a plan that says something else than what its members pay misleads everyone);
before that an organizer may still correct them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, or_, select

from admitone.activity import service as activity_service
from admitone.billing.errors import OrganizersOnly, PlanNotFound, PlanTermsLocked
from admitone.billing.models import Plan, PlanInterval, Subscription
from admitone.billing.plan_schemas import PlanCreate, PlanUpdate
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import NotAuthenticated
from admitone.core.ids import new_uuid
from admitone.core.money import Money, validate_currency
from admitone.core.pagination import Page, paginate

_TERMS = ("price", "currency", "interval")


def _organizer(actor: Actor) -> uuid.UUID:
    if actor.uuid is None:
        raise NotAuthenticated()
    if actor.role != "organizer" and not actor.is_staff:
        raise OrganizersOnly("Only organizers and staff sell membership plans.")
    return actor.uuid


async def list_plans(
    uow: UnitOfWork,
    viewer: Actor,
    *,
    organizer_id: uuid.UUID | None = None,
    archived: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Plan]:
    """Plans anyone can subscribe to, newest first; ``archived`` adds the viewer's own archived
    ones (every archived one for staff)."""
    stmt = select(Plan)
    if organizer_id is not None:
        stmt = stmt.where(Plan.organizer_id == organizer_id)
    if not archived:
        stmt = stmt.where(Plan.archived_at.is_(None))
    elif not viewer.is_staff:
        stmt = stmt.where(or_(Plan.archived_at.is_(None), Plan.organizer_id == viewer.uuid))
    return await paginate(
        uow.session, stmt, created_at=Plan.created_at, row_id=Plan.id, limit=limit, cursor=cursor
    )


async def get_plan(uow: UnitOfWork, plan_id: uuid.UUID) -> Plan:
    """Any plan by id, archived ones too: their members still look them up."""
    plan = await uow.session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound()
    return plan


async def _own_plan(uow: UnitOfWork, actor: Actor, plan_id: uuid.UUID) -> Plan:
    organizer_id = _organizer(actor)
    stmt = select(Plan).where(Plan.id == plan_id)
    if not actor.is_staff:
        stmt = stmt.where(Plan.organizer_id == organizer_id)
    plan = await uow.session.scalar(stmt.with_for_update())
    if plan is None:
        raise PlanNotFound()
    return plan


def _terms(price: str, currency: str, prefix: str) -> tuple[int, str]:
    code = validate_currency(currency, field=f"{prefix}.currency")
    return Money.parse(price, code, field=f"{prefix}.price").amount, code


async def create_plan(uow: UnitOfWork, actor: Actor, data: PlanCreate) -> Plan:
    organizer_id = _organizer(actor)
    price, currency = _terms(data.price, data.currency, "plan")
    now = uow.clock.now()
    plan = Plan(
        id=new_uuid(),
        organizer_id=organizer_id,
        name=data.name,
        description=_description(data.description),
        price=price,
        currency=currency,
        interval=data.interval.value,
        trial_days=data.trial_days,
        archived_at=None,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(plan)
    await uow.flush()
    await _record(uow, "billing.plan_created", plan)
    return plan


async def update_plan(uow: UnitOfWork, actor: Actor, plan_id: uuid.UUID, data: PlanUpdate) -> Plan:
    plan = await _own_plan(uow, actor, plan_id)
    sent = data.model_fields_set
    if data.name is not None:
        plan.name = data.name
    if "description" in sent:
        plan.description = _description(data.description)
    if data.trial_days is not None:
        plan.trial_days = data.trial_days
    price, currency = _terms(
        data.price
        if data.price is not None
        else Money(plan.price, plan.currency).to_decimal_string(),
        data.currency or plan.currency,
        "plan",
    )
    interval = (data.interval or PlanInterval(plan.interval)).value
    if (price, currency, interval) != (plan.price, plan.currency, plan.interval):
        if await _has_subscribers(uow, plan.id):
            changed = [name for name in _TERMS if name in sent]
            raise PlanTermsLocked(field=f"plan.{changed[0]}" if changed else "plan")
        plan.price, plan.currency, plan.interval = price, currency, interval
    plan.updated_at = uow.clock.now()
    await uow.flush()
    await _record(uow, "billing.plan_updated", plan)
    return plan


async def archive_plan(uow: UnitOfWork, actor: Actor, plan_id: uuid.UUID) -> None:
    """Nobody new can subscribe; members keep their access until their subscriptions end, and
    the tiers that require it keep admitting them. Archiving twice is not an error."""
    plan = await _own_plan(uow, actor, plan_id)
    if plan.archived_at is not None:
        return
    now = uow.clock.now()
    plan.archived_at = now
    plan.updated_at = now
    await uow.flush()
    await _record(uow, "billing.plan_archived", plan)


def _description(text: str | None) -> str | None:
    return (text or "").strip() or None


async def _has_subscribers(uow: UnitOfWork, plan_id: uuid.UUID) -> bool:
    return bool(await uow.session.scalar(select(exists().where(Subscription.plan_id == plan_id))))


async def _record(uow: UnitOfWork, action: str, plan: Plan) -> None:
    await activity_service.record(
        uow,
        action,
        resource_type="plan",
        resource_uuid=plan.id,
        target_uuid=plan.organizer_id,
        metadata={
            "status": "archived" if plan.archived_at is not None else "active",
            "amount": plan.price,
            "currency": plan.currency,
            "kind": plan.interval,
        },
    )
