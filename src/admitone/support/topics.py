"""Pub/sub topics of the support desk and the messages sent on them.

``tickets:all`` is for staff, ``tickets:user:{user_id}`` for one requester (and staff), and
``tickets:{id}`` for one request's requester and the people handling it. Internal notes go on
``tickets:all`` only: every other topic is readable by a requester. Payloads carry ids, codes
and statuses, never a subject, a body or an address.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import Policy, owner_or_staff, staff, topic
from admitone.support import repository
from admitone.support.models import SupportComment, SupportRequest


def _requester_or_handler() -> Policy:
    async def check(uow: UnitOfWork, actor: Actor, params: Mapping[str, uuid.UUID]) -> bool:
        return await repository.visible(uow, actor, params["id"]) is not None

    return Policy("requester-or-handler", check, frozenset({"id"}))


ALL = topic("tickets:all", staff(), "Every support request as it changes (staff).")
USER = topic(
    "tickets:user:{user_id}",
    owner_or_staff(),
    "The support requests of one user as they change (that user and staff).",
)
ONE = topic(
    "tickets:{id}",
    _requester_or_handler(),
    "One support request and its replies (its requester, its event's organizer and staff).",
)

TICKET_CREATED = "ticket_created"
TICKET_UPDATED = "ticket_updated"
TICKET_STATUS_CHANGED = "ticket_status_changed"
TICKET_ASSIGNED = "ticket_assigned"
TICKET_PRIORITY_CHANGED = "ticket_priority_changed"
TICKETS_BULK_UPDATED = "tickets_bulk_updated"
COMMENT_CREATED = "comment_created"
INTERNAL_NOTE_CREATED = "internal_note_created"


def request_message(request: SupportRequest) -> dict[str, object]:
    return {
        "request_id": str(request.id),
        "status": request.status,
        "priority": request.priority,
        "category": request.category,
        "assignee_id": _str(request.assignee_id),
        "requester_id": _str(request.requester_id),
        "event_id": _str(request.event_id),
        "order_id": _str(request.order_id),
    }


def publish(
    uow: UnitOfWork,
    request: SupportRequest,
    kind: str,
    extra: Mapping[str, object] | None = None,
) -> None:
    """``kind`` on every topic that shows this request; sent after commit."""
    payload = {**request_message(request), **(extra or {})}
    for name in _topics_of(request):
        realtime_service.publish(uow, name, kind, payload)


def publish_comment(uow: UnitOfWork, request: SupportRequest, comment: SupportComment) -> None:
    payload = {
        "request_id": str(request.id),
        "comment_id": str(comment.id),
        "author_id": _str(comment.author_id),
        "from_staff": comment.from_staff,
    }
    if comment.internal:
        realtime_service.publish(uow, ALL.name(), INTERNAL_NOTE_CREATED, payload)
        return
    for name in _topics_of(request):
        realtime_service.publish(uow, name, COMMENT_CREATED, payload)


def publish_bulk(uow: UnitOfWork, ids: list[uuid.UUID], changes: Mapping[str, object]) -> None:
    realtime_service.publish(
        uow,
        ALL.name(),
        TICKETS_BULK_UPDATED,
        {"ids": [str(i) for i in ids], "changes": dict(changes)},
    )


def _topics_of(request: SupportRequest) -> list[str]:
    names = [ALL.name(), ONE.name(id=request.id)]
    if request.requester_id is not None:
        names.append(USER.name(user_id=request.requester_id))
    return names


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
