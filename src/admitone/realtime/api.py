"""``GET /api/stream``: Server-Sent Events of the topics a client may read."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from admitone.accounts import service as accounts_service
from admitone.core.actor import Actor, current_actor
from admitone.core.errors import PermissionDenied
from admitone.core.security import decode_access_token
from admitone.http.deps import OptionalUser, Uow, client_ip, get_runtime, public
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.realtime.slots import StreamSlots
from admitone.realtime.sse import event_stream
from admitone.realtime.topics import (
    MAX_TOPIC_LENGTH,
    MAX_TOPICS_PER_STREAM,
    parse_topic_list,
    registry,
)
from admitone.runtime import Runtime

router = api_router(tags=["realtime"])

_STREAM_DOC = {
    "description": "A text/event-stream: see admitone.realtime.sse for the events.",
    # One server-sent event (comments, the keep-alives, are not events).
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "properties": {
                    "event": {"type": "string"},
                    "data": {"type": "string"},
                    "id": {"type": "string"},
                    "retry": {"type": "integer"},
                },
            }
        }
    },
}


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: _STREAM_DOC, **errors(401, 403, 422, 429)},
)
@public
async def stream(
    request: Request,
    uow: Uow,
    user: OptionalUser,
    topics: Annotated[
        str,
        Query(
            max_length=MAX_TOPICS_PER_STREAM * (MAX_TOPIC_LENGTH + 1),
            pattern=r"^[A-Za-z0-9:_, -]+$",
            description="Comma-separated topic names, e.g. `tickets:user:<uuid>,shop:products`.",
        ),
    ],
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """Guests may read public topics; signed-in users send their bearer token as usual. Every
    topic is checked before the stream opens: 422 for an unknown one, 403 for a forbidden one;
    429 ``too_many_streams`` past the open streams allowed per client or per server. When the
    user's role changes the topics are checked again, and the stream ends (``event: close``,
    ``access_revoked``) if one is no longer allowed or the user was deleted."""
    runtime = get_runtime(request)
    names = await registry.authorize(uow, current_actor(), parse_topic_list(topics))
    max_duration = _token_lifetime(request) if user is not None else None
    slots: StreamSlots = request.app.state.stream_slots
    release = slots.take(f"user:{user.id}" if user else f"ip:{client_ip(request)}")
    user_id = user.id if user is not None else None
    still_allowed = partial(_may_read, runtime, user_id, names) if user_id is not None else None

    return _StreamResponse(
        event_stream(
            lambda: runtime.bus.subscribe(names, last_event_id=last_event_id, user_id=user_id),
            keepalive=runtime.settings.sse_keepalive_seconds,
            max_duration=max_duration,
            still_allowed=still_allowed,
        ),
        release=release,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _StreamResponse(StreamingResponse):
    """Gives its stream slot back when it ends, or when it is dropped unsent (the request
    failed after the route returned)."""

    def __init__(self, content: Any, *, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release
        weakref.finalize(self, release)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _may_read(runtime: Runtime, user_id: uuid.UUID, names: list[str]) -> bool:
    """Whether the user, as the database has them now, may still read every one of ``names``."""
    async with runtime.unit_of_work(readonly=True) as uow:
        user = await accounts_service.get_user(uow, user_id)
        if user is None:
            return False
        try:
            await registry.authorize(uow, Actor(user.id, user.role), names)
        except PermissionDenied:
            return False
    return True


def _token_lifetime(request: Request) -> float | None:
    runtime = get_runtime(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    now = runtime.clock.now()
    claims = decode_access_token(runtime.settings.signing_key, token.strip(), now)
    return (claims.expires_at - now).total_seconds()
