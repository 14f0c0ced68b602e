"""Request and response bodies of the support desk; every limit is declared here, so the
OpenAPI document states it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from admitone.core.bodies import StrictBody
from admitone.support.models import (
    Category,
    Priority,
    RequestStatus,
    SupportComment,
    SupportRequest,
)

MAX_BODY_LENGTH = 10_000
MAX_BULK_IDS = 100

# The patterns say in the contract what the server refuses: a text of nothing but spaces,
# NUL (which PostgreSQL cannot store), and control characters in a one-line subject.
Subject = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$",
    ),
]
Body = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=MAX_BODY_LENGTH,
        pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",
    ),
]
OrderReference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=16, pattern=r"^[0-9A-Za-z]+$"
    ),
]


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


def _refuse_null(value: object) -> object:
    # Runs only on values that were sent: an explicit null status is an error, not a no-op.
    if value is None:
        raise ValueError("may not be null")
    return value


class Changes(StrictBody):
    """What a PATCH or a bulk update changes; an omitted field is left as it is, and
    ``assignee_id: null`` unassigns. At least one of the three is needed."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    status: RequestStatus | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    assignee_id: uuid.UUID | None = None

    _not_null = field_validator("status", "priority")(_refuse_null)


class RequestUpdate(Changes):
    expected_assignee_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The assignee the client believes the request has (null: unassigned). When given, "
            "the assignment applies only if that is still so; otherwise 409 with the current one."
        ),
    )


class BulkUpdate(Changes):
    model_config = ConfigDict(json_schema_extra={"minProperties": 2})

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
