"""Queries of support requests, scoped by who asks (rule 8: someone else's request is a 404)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true, update
from sqlalchemy.orm import InstrumentedAttribute

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.pagination import Page, paginate
from admitone.support.models import RequestStatus, SupportComment, SupportRequest

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    priority: str | None = None
    assignee_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    text: str | None = None


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """Staff see every request; a user sees theirs and those about the events they organize."""
    if actor.is_staff:
        return true()
    if actor.uuid is None:
        return false()
    return or_(SupportRequest.requester_id == actor.uuid, SupportRequest.organizer_id == actor.uuid)


def handles(actor: Actor, request: SupportRequest) -> bool:
    """Whether the actor works this request for the desk: staff, or the event's organizer."""
    return actor.is_staff or (actor.uuid is not None and actor.uuid == request.organizer_id)


def _fresh(stmt: Select[T]) -> Select[T]:
    # Requests change under concurrent staff: always read the row, never the identity map.
    return stmt.execution_options(populate_existing=True)


async def get(uow: UnitOfWork, request_id: uuid.UUID) -> SupportRequest | None:
    return await uow.session.scalar(
        _fresh(select(SupportRequest).where(SupportRequest.id == request_id))
    )


async def visible(uow: UnitOfWork, actor: Actor, request_id: uuid.UUID) -> SupportRequest | None:
    return await uow.session.scalar(
        _fresh(select(SupportRequest).where(SupportRequest.id == request_id, visible_to(actor)))
    )


async def visible_many(
    uow: UnitOfWork, actor: Actor, request_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SupportRequest]:
    rows = await uow.session.scalars(
        _fresh(select(SupportRequest).where(SupportRequest.id.in_(request_ids), visible_to(actor)))
    )
    return {row.id: row for row in rows}


async def list_requests(
    uow: UnitOfWork, actor: Actor, filters: Filters, *, limit: int | None, cursor: str | None
) -> Page[SupportRequest]:
    stmt = select(SupportRequest).where(visible_to(actor))
    equal: list[tuple[InstrumentedAttribute[Any], object]] = [
        (SupportRequest.status, filters.status),
        (SupportRequest.priority, filters.priority),
        (SupportRequest.assignee_id, filters.assignee_id),
        (SupportRequest.requester_id, filters.requester_id),
        (SupportRequest.event_id, filters.event_id),
    ]
    for column, value in equal:
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.text:
        needle = filters.text.lower()
        stmt = stmt.where(
            or_(
                func.lower(SupportRequest.subject).contains(needle, autoescape=True),
                func.lower(SupportRequest.body).contains(needle, autoescape=True),
            )
        )
    return await paginate(
        uow.session,
        stmt,
        created_at=SupportRequest.created_at,
        row_id=SupportRequest.id,
        limit=limit,
        cursor=cursor,
    )


async def comments_of(
    uow: UnitOfWork, request_id: uuid.UUID, *, with_internal: bool
) -> list[SupportComment]:
    stmt = select(SupportComment).where(SupportComment.request_id == request_id)
    if not with_internal:
        stmt = stmt.where(SupportComment.internal.is_(False))
    rows = await uow.session.scalars(stmt.order_by(SupportComment.created_at, SupportComment.id))
    return list(rows)


async def public_comments_of_many(
    uow: UnitOfWork, request_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[SupportComment]]:
    found: dict[uuid.UUID, list[SupportComment]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return found
    rows = await uow.session.scalars(
        select(SupportComment)
        .where(SupportComment.request_id.in_(request_ids), SupportComment.internal.is_(False))
        .order_by(SupportComment.created_at, SupportComment.id)
    )
    for comment in rows:
        found[comment.request_id].append(comment)
    return found


async def requested_by(uow: UnitOfWork, user_id: uuid.UUID) -> list[SupportRequest]:
    rows = await uow.session.scalars(
        select(SupportRequest)
        .where(SupportRequest.requester_id == user_id)
        .order_by(SupportRequest.created_at, SupportRequest.id)
    )
    return list(rows)


async def update_if(
    uow: UnitOfWork,
    request_id: uuid.UUID,
    expected: Mapping[InstrumentedAttribute[Any], object],
    values: Mapping[str, object],
) -> bool:
    """One conditional UPDATE: applies ``values`` only if the request still holds every
    ``expected`` value and is not closed. True for the one caller whose write landed."""
    stmt = update(SupportRequest).where(
        SupportRequest.id == request_id, SupportRequest.status != RequestStatus.CLOSED.value
    )
    for column, value in expected.items():
        stmt = stmt.where(column.is_not_distinct_from(value))
    done = await uow.session.scalar(
        stmt.values(**values)
        .returning(SupportRequest.id)
        .execution_options(synchronize_session=False)
    )
    return done is not None
