"""The Server-Sent Events wire format, and the loop that turns a subscription into a stream.

Kept free of FastAPI and of the database: by the time this runs the request's unit of work has
committed and returned its connection, so a thousand open streams hold no connection.

On the wire (one blank line ends an event)::

    retry: 2000                      once, first: how long a client waits before reconnecting
    id: <message id>                 what the client sends back as Last-Event-ID
    event: <message type>            e.g. user_role_changed (htmx: sse-swap="user_role_changed")
    data: {"topic": ..., "type": ..., "id": ..., "at": ..., "payload": {...}}

    : ping                           keep-alive comment every sse_keepalive_seconds
    event: reset                     messages may have been missed: reload, then carry on
    event: close                     the server ends the stream (slow_consumer, shutdown,
                                     token_expired, access_revoked); the client reconnects with
                                     Last-Event-ID (after access_revoked, a forbidden topic is
                                     then refused with 403)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from admitone.realtime import codec
from admitone.realtime.fanout import AccessChanged, Closed, Envelope, Reset, Subscription

RETRY_MILLISECONDS = 2000
PING = b": ping\n\n"


def _clean(field: str | None) -> str | None:
    # A line break would let a value start a new SSE field.
    return None if field is None or "\n" in field or "\r" in field else field


def format_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    lines = []
    if (event_id := _clean(id)) is not None:
        lines.append(f"id: {event_id}")
    if (name := _clean(event)) is not None:
        lines.append(f"event: {name}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


def message_event(envelope: Envelope) -> bytes:
    body = {"topic": envelope.topic, **envelope.message}
    kind = envelope.message.get("type")
    return format_event(
        codec.encode(body), event=str(kind) if kind is not None else None, id=envelope.id
    )


def reset_event(reason: str) -> bytes:
    return format_event(json.dumps({"type": "stream_reset", "reason": reason}), event="reset")


def close_event(reason: str) -> bytes:
    return format_event(json.dumps({"type": "stream_closed", "reason": reason}), event="close")


def _catch_up(subscription: Subscription, render: Callable[[Envelope], bytes]) -> bytes:
    """What a client resuming with Last-Event-ID missed, or the reset that says it missed too
    much."""
    reset = reset_event(subscription.reset.reason) if subscription.reset is not None else b""
    return reset + b"".join(render(envelope) for envelope in subscription.replay)


async def event_stream(
    subscribe: Callable[[], Subscription],
    *,
    keepalive: float,
    max_duration: float | None = None,
    render: Callable[[Envelope], bytes] = message_event,
    current: Callable[[], Awaitable[bytes]] | None = None,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[bytes]:
    """Subscribe when the first byte is wanted (so a response that is never sent leaks no
    subscription), then stream until the subscription closes or ``max_duration`` (the bearer
    token's remaining life: a stream must not outlive the right to read it) runs out, or the
    subscriber's user loses the right to a topic (``still_allowed``, asked when its role changes;
    a deleted user's stream just ends). A client disconnect cancels the generator; ``finally``
    unsubscribes.

    ``render`` turns a message into events (JSON for the API, HTML for the web pages). A page
    that shows a state rather than a log passes ``current``: the whole present state, sent once
    subscribed (so nothing published in between is missed) and after a reset, instead of a
    replay."""
    subscription = subscribe()
    loop = asyncio.get_running_loop()
    deadline = None if max_duration is None else loop.time() + max_duration
    try:
        # The first chunk tells the client it is subscribed: anything published from now on
        # reaches it.
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
        yield await current() if current is not None else _catch_up(subscription, render)
        while True:
            wait = keepalive
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    yield close_event("token_expired")
                    return
            try:
                async with asyncio.timeout(wait):
                    item = await subscription.get()
            except TimeoutError:
                if deadline is None or loop.time() < deadline:
                    yield PING
                continue
            if isinstance(item, Closed):
                yield close_event(item.reason)
                return
            if isinstance(item, AccessChanged):
                if item.user_deleted or still_allowed is None or not await still_allowed():
                    yield close_event("access_revoked")
                    return
                continue
            if isinstance(item, Reset):
                yield await current() if current is not None else reset_event(item.reason)
            else:
                yield render(item)
    finally:
        subscription.close()
