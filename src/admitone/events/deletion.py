"""Deleting an event: owner-only, refused while it has paid orders, soft, followed
by an after-delete job.

One transaction soft-deletes the event, its tiers, and whatever other domains hang on it: each
registers a *delete step* (``register_delete_step``: the shop's products of the event, the posts
created from it and their coupons) that runs in the same transaction, so a step that fails rolls
the whole deletion back.

Orders live in other domains (ticketing now, the shop later) that import events, so events
cannot ask them directly without a cycle. Instead each registers an *order checker* at import
time (``register_order_checker``, wired through ``admitone.wiring``) that answers "does this
event have an order line with a unit price above zero?". A domain may also register an
*after-delete hook* for the follow-up job to run before it announces the deletion (the shop
announces its deleted products there); an event with a priced order, paid or pending, is never
deleted, and a free order is never pending, so there is nothing to release.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy import update

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.events import repository, topics
from admitone.events.errors import EventHasOrders, EventNotFound
from admitone.events.models import Event, Tier
from admitone.jobs import service as jobs_service

log = structlog.get_logger(__name__)

AFTER_DELETE_JOB = "events.after_delete"

OrderChecker = Callable[[UnitOfWork, uuid.UUID], Awaitable[bool]]
AfterDeleteHook = Callable[[UnitOfWork, uuid.UUID], Awaitable[None]]
DeleteStep = Callable[[UnitOfWork, uuid.UUID, datetime], Awaitable[None]]

_order_checkers: list[OrderChecker] = []
_after_delete_hooks: list[AfterDeleteHook] = []
_delete_steps: list[DeleteStep] = []


def register_order_checker(checker: OrderChecker) -> OrderChecker:
    """Register ``async def checker(uow, event_id) -> bool``: True when the event has an order
    line with a unit price above zero that must keep the event (free lines never block).
    Count pending orders too: a payment in flight would otherwise settle on a deleted event."""
    if checker not in _order_checkers:
        _order_checkers.append(checker)
    return checker


def register_after_delete(hook: AfterDeleteHook) -> AfterDeleteHook:
    """Register ``async def hook(uow, event_id) -> None``, run by the after-delete job. The job
    retries, so a hook must be idempotent."""
    if hook not in _after_delete_hooks:
        _after_delete_hooks.append(hook)
    return hook


def register_delete_step(step: DeleteStep) -> DeleteStep:
    """Register ``async def step(uow, event_id, now) -> None``, run by ``delete_event`` in its
    transaction once the event is known deletable: soft-delete what hangs on the event, with
    ``now`` as its deletion time. It only flushes; raising rolls the whole deletion back."""
    if step not in _delete_steps:
        _delete_steps.append(step)
    return step


async def event_has_paid_orders(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    for checker in _order_checkers:
        if await checker(uow, event_id):
            return True
    return False


async def has_existing_orders(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> bool:
    """Whether ``delete_event`` would refuse; asked by the same people who may delete."""
    stmt = repository.live_events().where(Event.id == event_id)
    if not repository.may_delete_any(actor):
        stmt = stmt.where(Event.organizer_id == actor.uuid)
    if actor.uuid is None or await uow.session.scalar(stmt) is None:
        raise EventNotFound()
    return await event_has_paid_orders(uow, event_id)


async def delete_event(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> None:
    """Soft-delete in one transaction. The UPDATE comes before the order check on purpose: it
    takes the event row's lock, which every reservation also takes (its counter update), so
    an order committed before the check is seen by it and none can start after it."""
    if actor.uuid is None:
        raise EventNotFound()
    now = uow.clock.now()
    stmt = update(Event).where(Event.id == event_id, Event.deleted_at.is_(None))
    if not repository.may_delete_any(actor):
        stmt = stmt.where(Event.organizer_id == actor.uuid)
    deleted = await uow.session.execute(
        stmt.values(deleted_at=now, updated_at=now)
        .returning(Event.id, Event.status)
        .execution_options(synchronize_session=False)
    )
    row = deleted.one_or_none()
    if row is None:
        raise EventNotFound(f"Resource Event with id {event_id} not found")
    if await event_has_paid_orders(uow, event_id):
        raise EventHasOrders()
    # Kept, not erased: orders of the event point at them. Unavailable so nothing sells them.
    await uow.session.execute(
        update(Tier)
        .where(Tier.event_id == event_id, Tier.deleted_at.is_(None))
        .values(deleted_at=now, is_available=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    for step in _delete_steps:
        await step(uow, event_id, now)
    await activity_service.record(
        uow,
        "events.event_deleted",
        resource_type="event",
        resource_uuid=event_id,
        metadata={"status": row.status},
    )
    await jobs_service.enqueue(uow, AFTER_DELETE_JOB, {"event_id": str(event_id)})


async def run_after_delete(uow: UnitOfWork, event_id: uuid.UUID) -> None:
    """The follow-up work of a deletion: the registered hooks, then tell live pages."""
    for hook in _after_delete_hooks:
        await hook(uow, event_id)
    topics.publish_deleted(uow, event_id)
    log.info("event_after_delete_done", event_id=str(event_id), hooks=len(_after_delete_hooks))
