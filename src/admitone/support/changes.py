"""Changing a request's status, priority and assignee, one request or many at once.

Every change is one conditional UPDATE on the values this actor read; its side effects
(activity, messages, emails) belong to the winner alone. A loser is told the current state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from admitone.accounts import service as accounts_service
from admitone.activity import service as activity_service
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.support import access, emails, repository, topics
from admitone.support.errors import (
    AssigneeNotStaff,
    NothingToChange,
    RequestChanged,
    RequestClosed,
    SupportRequestNotFound,
    TransitionNotAllowed,
)
from admitone.support.models import RequestStatus, SupportRequest
from admitone.support.schemas import BulkUpdate, Changes, RequestUpdate

S = RequestStatus
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.WAITING_ON_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.OPEN, S.WAITING_ON_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.WAITING_ON_CUSTOMER: frozenset({S.OPEN, S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# The requester's reply hands the request back to the desk.
REOPENED_BY_REPLY = {S.RESOLVED: S.OPEN, S.WAITING_ON_CUSTOMER: S.IN_PROGRESS}
_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "status": SupportRequest.status,
    "priority": SupportRequest.priority,
    "assignee_id": SupportRequest.assignee_id,
}


@dataclass
class Applied:
    """What one request's winning UPDATE changed: field name -> old value."""

    request: SupportRequest
    old: dict[str, Any] = field(default_factory=dict)


def current_state(request: SupportRequest) -> dict[str, object]:
    return {
        "id": str(request.id),
        "status": request.status,
        "priority": request.priority,
        "assignee_id": None if request.assignee_id is None else str(request.assignee_id),
    }


def wanted(changes: Changes) -> dict[str, Any]:
    """The fields the client asked to change (``assignee_id: null`` unassigns)."""
    sent = changes.model_fields_set
    found: dict[str, Any] = {}
    if changes.status is not None:
        found["status"] = changes.status.value
    if changes.priority is not None:
        found["priority"] = changes.priority.value
    if "assignee_id" in sent:
        found["assignee_id"] = changes.assignee_id
    if not found:
        raise NothingToChange(field="status")
    return found


def check_transition(request: SupportRequest, new_status: str) -> None:
    if RequestStatus(new_status) not in TRANSITIONS[RequestStatus(request.status)]:
        raise TransitionNotAllowed(
            f"A request that is {request.status} cannot become {new_status}.",
            field="status",
            details={"id": str(request.id), "status": request.status, "requested": new_status},
        )


async def check_assignee(uow: UnitOfWork, request: SupportRequest, user_id: uuid.UUID) -> None:
    if user_id == request.organizer_id:
        return
    user = await accounts_service.get_user(uow, user_id)
    if user is None or not Actor(user.id, user.role).is_staff:
        raise AssigneeNotStaff(field="assignee_id", details={"assignee_id": str(user_id)})


async def apply(
    uow: UnitOfWork,
    request: SupportRequest,
    fields: dict[str, Any],
    *,
    expected_assignee: tuple[uuid.UUID | None] | None = None,
) -> Applied:
    """Validate ``fields`` against the request as read, then write them with one conditional
    UPDATE. ``expected_assignee`` is the client's belief (a 1-tuple, so that "unassigned" and
    "no belief" differ): checked against what was read, whose value the UPDATE then requires."""
    if request.status == RequestStatus.CLOSED:
        raise RequestClosed(details=current_state(request))
    if expected_assignee is not None and expected_assignee[0] != request.assignee_id:
        raise RequestChanged(details=current_state(request))
    changed = {name: value for name, value in fields.items() if getattr(request, name) != value}
    if "status" in changed:
        check_transition(request, changed["status"])
    if changed.get("assignee_id") is not None:
        await check_assignee(uow, request, changed["assignee_id"])
    if not changed:
        return Applied(request)
    old = {name: getattr(request, name) for name in changed}
    now = uow.clock.now()
    values: dict[str, object] = {**changed, "updated_at": now}
    if changed.get("status") == RequestStatus.RESOLVED:
        values["resolved_at"] = now
    elif changed.get("status") == RequestStatus.CLOSED:
        values["closed_at"] = now
    elif "status" in changed:
        values["resolved_at"] = None
    won = await repository.update_if(
        uow, request.id, {_COLUMNS[name]: value for name, value in old.items()}, values
    )
    fresh = await repository.get(uow, request.id)
    assert fresh is not None  # requests are never deleted while a change is in flight
    if not won:
        raise RequestChanged(details=current_state(fresh))
    return Applied(fresh, old)


async def announce(
    uow: UnitOfWork, settings: Settings, actor: Actor, applied: Applied, *, bulk: bool
) -> None:
    """The winner's side effects: activity entries, messages (one per field, unless part of a
    bulk update, which has its own message) and emails."""
    request, old = applied.request, applied.old
    extra: dict[str, object] = {"kind": "bulk"} if bulk else {}
    if "status" in old:
        await _record(
            uow,
            "support.request_status_changed",
            request,
            {"old_status": old["status"], "new_status": request.status, **extra},
        )
        if not bulk:
            topics.publish(
                uow,
                request,
                topics.TICKET_STATUS_CHANGED,
                {"old_status": old["status"], "new_status": request.status},
            )
        if request.requester_id is None or request.requester_id != actor.uuid:
            await emails.status_changed(uow, settings, request, old["status"])
    if "priority" in old:
        await _record(
            uow,
            "support.request_priority_changed",
            request,
            {"old_priority": old["priority"], "new_priority": request.priority, **extra},
        )
        if not bulk:
            topics.publish(
                uow,
                request,
                topics.TICKET_PRIORITY_CHANGED,
                {"old_priority": old["priority"], "new_priority": request.priority},
            )
    if "assignee_id" in old:
        await _record(
            uow,
            "support.request_assigned",
            request,
            {
                "old_assignee_uuid": old["assignee_id"],
                "assignee_uuid": request.assignee_id,
                **extra,
            },
            target=request.assignee_id,
        )
        if not bulk:
            topics.publish(
                uow,
                request,
                topics.TICKET_ASSIGNED,
                {
                    "old_assignee_id": _str(old["assignee_id"]),
                    "new_assignee_id": _str(request.assignee_id),
                },
            )
        if request.assignee_id != actor.uuid:
            await emails.assigned(uow, settings, request)
    if old and not bulk:
        topics.publish(uow, request, topics.TICKET_UPDATED)


async def _record(
    uow: UnitOfWork,
    action: str,
    request: SupportRequest,
    metadata: dict[str, object],
    *,
    target: uuid.UUID | None = None,
) -> None:
    await activity_service.record(
        uow,
        action,
        resource_type="support_request",
        resource_uuid=request.id,
        target_uuid=target,
        # An unassignment has no new assignee: a missing key, not a null.
        metadata={key: value for key, value in metadata.items() if value is not None},
    )


async def update_request(
    uow: UnitOfWork,
    settings: Settings,
    actor: Actor,
    request_id: uuid.UUID,
    update: RequestUpdate,
) -> SupportRequest:
    fields = wanted(update)
    request = await access.handled(uow, actor, request_id)
    expected = (
        (update.expected_assignee_id,)
        if "expected_assignee_id" in update.model_fields_set
        else None
    )
    applied = await apply(uow, request, fields, expected_assignee=expected)
    await announce(uow, settings, actor, applied, bulk=False)
    return applied.request


async def bulk_update(
    uow: UnitOfWork, settings: Settings, actor: Actor, update: BulkUpdate
) -> list[SupportRequest]:
    """All or nothing: a request the actor may not touch is a 404 naming it, a refused change
    a 409 naming it, and nothing is written. Rows are changed in id order, so two bulk updates
    over overlapping requests never deadlock."""
    fields = wanted(update)
    ids = sorted(set(update.ids))
    found = await repository.visible_many(uow, actor, ids)
    refused = [i for i in ids if i not in found or not repository.handles(actor, found[i])]
    if refused:
        raise SupportRequestNotFound(
            "Some of these support requests were not found.",
            field="ids",
            details={"ids": [str(i) for i in refused]},
        )
    applied = [await apply(uow, found[i], fields) for i in ids]
    for one in applied:
        await announce(uow, settings, actor, one, bulk=True)
    changed_ids = [one.request.id for one in applied if one.old]
    if changed_ids:
        topics.publish_bulk(uow, changed_ids, {k: _plain(v) for k, v in fields.items()})
    return [one.request for one in applied]


async def reopen_on_reply(uow: UnitOfWork, request: SupportRequest) -> SupportRequest:
    """A requester's reply to a resolved or waiting request hands it back to the desk. If
    someone moved the request meanwhile, their change stands and the reply is just a reply."""
    new_status = REOPENED_BY_REPLY.get(RequestStatus(request.status))
    if new_status is None:
        return request
    try:
        applied = await apply(uow, request, {"status": new_status.value})
    except RequestChanged:
        return request
    await _record(
        uow,
        "support.request_status_changed",
        applied.request,
        {"old_status": applied.old["status"], "new_status": new_status.value, "kind": "reply"},
    )
    topics.publish(
        uow,
        applied.request,
        topics.TICKET_STATUS_CHANGED,
        {"old_status": applied.old["status"], "new_status": new_status.value},
    )
    return applied.request


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, uuid.UUID) else value
