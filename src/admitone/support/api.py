"""The support desk API: thin handlers over ``admitone.support.service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from admitone.core.actor import current_actor
from admitone.http.deps import AppSettings, CurrentUser, SupportRateLimit, Uow, public
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.support import service
from admitone.support.models import Priority, RequestStatus
from admitone.support.schemas import (
    BulkUpdate,
    CommentCreate,
    CommentOut,
    RequestCreate,
    RequestDetail,
    RequestList,
    RequestOut,
    RequestPage,
    RequestUpdate,
)

router = api_router(tags=["support"])

# ``{request_id:uuid}``: only an id matches, so ``/support/requests/bulk`` is that route alone
# and another method on it is a 405, not a malformed request id. A non-id there is a 404.

Token = Annotated[
    str | None,
    Query(
        max_length=200,
        description="A guest's order token, from the order's confirmation email.",
    ),
]


def _viewer(token: str | None) -> service.Viewer:
    return service.Viewer(current_actor(), token)


def _detail(view: service.RequestView) -> RequestDetail:
    return RequestDetail(
        **RequestOut.of(view.request).model_dump(),
        comments=[CommentOut.of(c) for c in view.comments],
    )


@router.get("/support/requests", responses=errors(401, 422))
async def list_requests(
    _: CurrentUser,
    uow: Uow,
    *,
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    priority: Priority | None = None,
    assignee_id: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="Text in subject or body."),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> RequestPage:
    """Staff see every request; organizers also those about their events; everyone their own.
    Newest first."""
    filters = service.Filters(
        status=status_.value if status_ else None,
        priority=priority.value if priority else None,
        assignee_id=assignee_id,
        requester_id=requester_id,
        event_id=event_id,
        text=q.strip() if q else None,
    )
    page = await service.list_requests(uow, current_actor(), filters, limit=limit, cursor=cursor)
    return RequestPage(data=[RequestOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.post(
    "/support/requests",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 404, 422),
    dependencies=[SupportRateLimit],
)
@public
async def create_request(body: RequestCreate, uow: Uow, token: Token = None) -> RequestDetail:
    """Signed in, or as a guest naming an order by ``order_reference`` with its ``token``.
    Someone else's order or an event you cannot see is a 404."""
    request = await service.create_request(uow, _viewer(token), body)
    return _detail(service.RequestView(request, []))


@router.post("/support/requests/bulk", responses=errors(401, 404, 409, 422))
async def bulk_update(
    body: BulkUpdate, _: CurrentUser, uow: Uow, settings: AppSettings
) -> RequestList:
    """Change status, priority or assignee of many requests in one transaction. A request you
    may not handle is a 404 naming it (``details.ids``), and then nothing changes."""
    requests = await service.bulk_update(uow, settings, current_actor(), body)
    return RequestList(data=[RequestOut.of(r) for r in requests])


@router.get("/support/requests/{request_id:uuid}", responses=errors(401, 404, 422))
@public
async def get_request(request_id: uuid.UUID, uow: Uow, token: Token = None) -> RequestDetail:
    """With its comments; internal notes only for the people handling it. A guest reads the
    requests of their order with the order's token."""
    return _detail(await service.get_request(uow, _viewer(token), request_id))


@router.patch("/support/requests/{request_id:uuid}", responses=errors(401, 403, 404, 409, 422))
async def update_request(
    request_id: uuid.UUID, body: RequestUpdate, _: CurrentUser, uow: Uow, settings: AppSettings
) -> RequestDetail:
    """For staff and the event's organizer. 409 ``support_transition_not_allowed`` with the
    current status; 409 ``support_request_changed`` with the current state when someone else
    changed it first (or ``expected_assignee_id`` no longer holds)."""
    await service.update_request(uow, settings, current_actor(), request_id, body)
    return _detail(await service.get_request(uow, _viewer(None), request_id))


@router.post(
    "/support/requests/{request_id:uuid}/comments",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 404, 409, 422),
    dependencies=[SupportRateLimit],
)
@public
async def add_comment(
    request_id: uuid.UUID,
    body: CommentCreate,
    uow: Uow,
    settings: AppSettings,
    token: Token = None,
) -> CommentOut:
    """A reply; ``internal: true`` (staff and the event's organizer only) adds a note the
    requester never sees. A guest comments with the order's token."""
    comment = await service.add_comment(uow, settings, _viewer(token), request_id, body)
    return CommentOut.of(comment)
