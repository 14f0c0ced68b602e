"""Support desk use cases: open a request, read and list them, reply, change them (one or many
at once), and a user's support data for an export.

Other domains and the boundaries use the support desk through this module only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from admitone.activity import service as activity_service
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotFound
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page
from admitone.events import service as events_service
from admitone.support import emails, repository, topics
from admitone.support.access import Viewer, reachable
from admitone.support.changes import bulk_update, reopen_on_reply, update_request
from admitone.support.errors import NotHandler, OrderRequired, RequestClosed
from admitone.support.models import Priority, RequestStatus, SupportComment, SupportRequest
from admitone.support.repository import Filters
from admitone.support.schemas import CommentCreate, CommentOut, RequestCreate, RequestOut
from admitone.ticketing import service as ticketing_service

__all__ = [
    "Filters",
    "RequestView",
    "Viewer",
    "add_comment",
    "bulk_update",
    "create_request",
    "export_user_data",
    "get_request",
    "list_requests",
    "update_request",
]


@dataclass(frozen=True, slots=True)
class RequestView:
    request: SupportRequest
    comments: list[SupportComment]


async def create_request(uow: UnitOfWork, viewer: Viewer, data: RequestCreate) -> SupportRequest:
    """A signed-in user's request may name one of their orders or an event they can see; a
    guest's must name its order, opened by the order's token."""
    actor = viewer.actor
    is_guest = actor.uuid is None
    if data.order_id is not None and data.order_reference is not None:
        raise InvalidInput(
            "Name the order by order_id or order_reference, not both.", field="order_reference"
        )
    if is_guest and (
        not viewer.order_token or (data.order_id is None and data.order_reference is None)
    ):
        raise OrderRequired(field="order_reference")
    order_id, event_id = await _about(uow, viewer, data)
    organizer_id = await _organizer(uow, event_id)
    now = uow.clock.now()
    request = SupportRequest(
        id=new_uuid(),
        requester_id=actor.uuid,
        guest=is_guest,
        subject=data.subject,
        body=data.body,
        category=data.category.value,
        status=RequestStatus.OPEN.value,
        priority=Priority.NORMAL.value,
        order_id=order_id,
        event_id=event_id,
        organizer_id=organizer_id,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(request)
    await uow.flush()
    await activity_service.record(
        uow,
        "support.request_created",
        resource_type="support_request",
        resource_uuid=request.id,
        metadata={
            "status": request.status,
            "priority": request.priority,
            "category": request.category,
            **({"order_uuid": order_id} if order_id else {}),
            **({"event_uuid": event_id} if event_id else {}),
        },
    )
    topics.publish(uow, request, topics.TICKET_CREATED)
    return request


async def _about(
    uow: UnitOfWork, viewer: Viewer, data: RequestCreate
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The order and event a new request is about; someone else's order is a 404."""
    owner = viewer.order_viewer()
    if data.order_id is not None:
        order = await ticketing_service.order_for_viewer(uow, data.order_id, owner, tickets=False)
    elif data.order_reference is not None:
        order = await ticketing_service.order_by_reference(uow, data.order_reference, owner)
    else:
        if data.event_id is not None:
            await events_service.get_event(uow, viewer.actor, data.event_id)
        return None, data.event_id
    if data.event_id is not None and data.event_id != order.event_id:
        raise InvalidInput("The event is not the order's.", field="event_id")
    return order.id, order.event_id


async def _organizer(uow: UnitOfWork, event_id: uuid.UUID | None) -> uuid.UUID | None:
    if event_id is None:
        return None
    try:
        return await events_service.organizer_of(uow, event_id)
    except NotFound:  # an order of a deleted event: nobody organizes it now, staff handle it
        return None


async def get_request(uow: UnitOfWork, viewer: Viewer, request_id: uuid.UUID) -> RequestView:
    request = await reachable(uow, viewer, request_id)
    comments = await repository.comments_of(
        uow, request.id, with_internal=repository.handles(viewer.actor, request)
    )
    return RequestView(request, comments)


async def list_requests(
    uow: UnitOfWork, actor: Actor, filters: Filters, *, limit: int | None, cursor: str | None
) -> Page[SupportRequest]:
    return await repository.list_requests(uow, actor, filters, limit=limit, cursor=cursor)


async def add_comment(
    uow: UnitOfWork,
    settings: Settings,
    viewer: Viewer,
    request_id: uuid.UUID,
    data: CommentCreate,
) -> SupportComment:
    """A reply from the requester or the desk, or an internal note from the desk. The desk's
    replies are emailed to the requester; a requester's reply reopens a resolved request."""
    request = await reachable(uow, viewer, request_id)
    actor = viewer.actor
    from_staff = repository.handles(actor, request)
    if data.internal and not from_staff:
        raise NotHandler(
            "Only the people handling a request may add internal notes.", field="internal"
        )
    if request.status == RequestStatus.CLOSED:
        raise RequestClosed(details={"status": request.status})
    comment = SupportComment(
        id=new_uuid(),
        request_id=request.id,
        author_id=actor.uuid,
        from_staff=from_staff,
        internal=data.internal,
        body=data.body,
        created_at=uow.clock.now(),
    )
    uow.session.add(comment)
    await uow.flush()
    await activity_service.record(
        uow,
        "support.internal_note_created" if comment.internal else "support.comment_created",
        resource_type="support_comment",
        resource_uuid=comment.id,
        metadata={"support_ticket_uuid": request.id},
    )
    topics.publish_comment(uow, request, comment)
    if not from_staff:
        await reopen_on_reply(uow, request)
    elif not comment.internal and request.requester_id != actor.uuid:
        await emails.reply(uow, settings, request, comment)
    return comment


async def export_user_data(uow: UnitOfWork, user_id: uuid.UUID) -> dict[str, Any]:
    """A user's support data for a personal-data export: the requests they made and the
    replies on them. Internal notes are the desk's working papers and never leave it."""
    requests = await repository.requested_by(uow, user_id)
    comments = await repository.public_comments_of_many(uow, [r.id for r in requests])
    return {
        "support_requests": [
            {
                **RequestOut.of(request).model_dump(mode="json"),
                "comments": [
                    CommentOut.of(c).model_dump(mode="json") for c in comments[request.id]
                ],
            }
            for request in requests
        ]
    }
