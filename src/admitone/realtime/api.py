"""``GET /api/stream``: Server-Sent Events of the topics a client may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse

from admitone.core.actor import current_actor
from admitone.core.security import decode_access_token
from admitone.http.deps import OptionalUser, Uow, get_runtime, public
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.realtime.sse import event_stream
from admitone.realtime.topics import (
    MAX_TOPIC_LENGTH,
    MAX_TOPICS_PER_STREAM,
    parse_topic_list,
    registry,
)

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
    responses={200: _STREAM_DOC, **errors(401, 403, 422)},
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
            description="Comma-separated topic names, e.g. `tickets:user:<uuid>,shop:products`.",
        ),
    ],
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """Guests may read public topics; signed-in users send their bearer token as usual. Every
    topic is checked before the stream opens: 422 for an unknown one, 403 for a forbidden one."""
    runtime = get_runtime(request)
    names = await registry.authorize(uow, current_actor(), parse_topic_list(topics))
    max_duration = _token_lifetime(request) if user is not None else None

    return StreamingResponse(
        event_stream(
            lambda: runtime.bus.subscribe(names, last_event_id=last_event_id),
            keepalive=runtime.settings.sse_keepalive_seconds,
            max_duration=max_duration,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _token_lifetime(request: Request) -> float | None:
    runtime = get_runtime(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    now = runtime.clock.now()
    claims = decode_access_token(runtime.settings.signing_key, token.strip(), now)
    return (claims.expires_at - now).total_seconds()
