"""The PII-safe activity (audit) log, for owners and admins."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator

from admitone.activity import service
from admitone.activity.repository import ActivityFilters
from admitone.activity.schemas import ActivityOut, ActivityPage
from admitone.core.errors import InvalidInput
from admitone.http.deps import StaffUser, Uow
from admitone.http.params import Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["activity"])

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    # The document says date-time (RFC 3339); pydantic alone would also take a Unix timestamp.
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


@router.get("/admin/activity", responses=errors(401, 403, 422))
async def list_activity(
    _: StaffUser,
    uow: Uow,
    *,
    actor: Annotated[uuid.UUID | None, Query(description="The acting user's id.")] = None,
    action: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z._]{1,100}$",
            description="An action or a prefix of one: `accounts.` or `accounts.user_role`.",
        ),
    ] = None,
    resource_type: Annotated[str | None, Query(pattern=r"^[a-z][a-z_]{0,39}$")] = None,
    resource_uuid: uuid.UUID | None = None,
    since: Annotated[Moment | None, Query(description="Inclusive.")] = None,
    until: Annotated[Moment | None, Query(description="Exclusive.")] = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> ActivityPage:
    if since is not None and until is not None and since > until:
        raise InvalidInput("since must not be later than until.", field="until")
    filters = ActivityFilters(
        actor_uuid=actor,
        action_prefix=action,
        resource_type=resource_type,
        resource_uuid=resource_uuid,
        since=since,
        until=until,
    )
    page = await service.list_entries(uow, filters, limit=limit, cursor=cursor)
    return ActivityPage(data=[ActivityOut.of(e) for e in page.items], next_cursor=page.next_cursor)
