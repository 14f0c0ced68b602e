"""Request and response bodies of the support desk; every limit is declared here, so the
OpenAPI document states it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from admitone.core.text import no_nul, single_line
from admitone.support.models import (
    Category,
    Priority,
    RequestStatus,
    SupportComment,
    SupportRequest,
)

MAX_BODY_LENGTH = 10_000
MAX_BULK_IDS = 100

Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(single_line),
]
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BODY_LENGTH),
    AfterValidator(no_nul),
]
OrderReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=16),
    AfterValidator(single_line),
]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCreate(StrictBody):
    subject: Subject
    body: Body
    category: Category = Category.GENERAL
    order_id: uuid.UUID | None = Field(
        default=None, description="One of your orders; a guest names it by order_reference."
    )
    order_reference: OrderReference | None = Field(
        default=None,
        description="An order's reference; a guest also sends the order's token (?token=).",
    )
    event_id: uuid.UUID | None = Field(
        default=None, description="An event you can see; with an order, it must be the order's."
    )


class Changes(StrictBody):
    """What a PATCH or a bulk update changes; an omitted field is left as it is, and
    ``assignee_id: null`` unassigns."""

    status: RequestStatus | None = None
    priority: Priority | None = None
    assignee_id: uuid.UUID | None = None


class RequestUpdate(Changes):
    expected_assignee_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The assignee the client believes the request has (null: unassigned). When given, "
            "the assignment applies only if that is still so; otherwise 409 with the current one."
        ),
    )


class BulkUpdate(Changes):
    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_BULK_IDS)]


class CommentCreate(StrictBody):
    body: Body
    internal: bool = Field(
        default=False, description="An internal note, for the people handling the request only."
    )


class CommentOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    author_id: uuid.UUID | None
    from_staff: bool
    internal: bool
    body: str
    created_at: datetime

    @classmethod
    def of(cls, comment: SupportComment) -> CommentOut:
        return cls(
            id=comment.id,
            request_id=comment.request_id,
            author_id=comment.author_id,
            from_staff=comment.from_staff,
            internal=comment.internal,
            body=comment.body,
            created_at=comment.created_at,
        )


class RequestOut(BaseModel):
    id: uuid.UUID
    subject: str
    body: str
    category: Category
    status: RequestStatus
    priority: Priority
    requester_id: uuid.UUID | None
    guest: bool
    assignee_id: uuid.UUID | None
    order_id: uuid.UUID | None
    event_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, request: SupportRequest) -> RequestOut:
        return cls(
            id=request.id,
            subject=request.subject,
            body=request.body,
            category=Category(request.category),
            status=RequestStatus(request.status),
            priority=Priority(request.priority),
            requester_id=request.requester_id,
            guest=request.guest,
            assignee_id=request.assignee_id,
            order_id=request.order_id,
            event_id=request.event_id,
            created_at=request.created_at,
            updated_at=request.updated_at,
            resolved_at=request.resolved_at,
            closed_at=request.closed_at,
        )


class RequestDetail(RequestOut):
    comments: list[CommentOut] = Field(
        description="Oldest first. Internal notes only for the people handling the request."
    )


class RequestPage(BaseModel):
    data: list[RequestOut]
    next_cursor: str | None


class RequestList(BaseModel):
    data: list[RequestOut]
