"""The event page's live part: availability messages as HTML fragments for the htmx SSE
extension, the present state first and again after a gap."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import cast

from admitone.events.topics import AVAILABILITY_CHANGED, EVENT_DELETED
from admitone.realtime.fanout import Fanout
from admitone.realtime.sse import event_stream
from admitone.web import live

TOPIC = "events:test:availability"
TIER = uuid.uuid4()


def availability(remaining: int) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "status": "published",
        "remaining": remaining,
        "sold_out": remaining == 0,
        "on_sale": True,
        "tiers": [
            {"id": str(TIER), "name": "VIP", "remaining": remaining, "sold_out": remaining == 0,
             "on_sale": True}
        ],
    }  # fmt: skip


async def test_live_availability_sends_the_present_state_first_and_again_after_a_gap():
    fanout = Fanout(replay_size=10, queue_size=10)
    presents: list[int] = []

    async def current() -> bytes:
        presents.append(len(presents))
        return live.availability_events(availability(5))

    stream = cast(
        AsyncGenerator[bytes, None],
        event_stream(
            lambda: fanout.subscribe([TOPIC]), keepalive=30, render=live.render, current=current
        ),
    )
    assert (await anext(stream)).startswith(b"retry:")
    first = (await anext(stream)).decode()
    fanout.deliver(TOPIC, {"type": AVAILABILITY_CHANGED, "id": "1", "payload": availability(0)})
    sold_out = (await anext(stream)).decode()
    fanout.gap()
    after_gap = (await anext(stream)).decode()
    fanout.deliver(TOPIC, {"type": EVENT_DELETED, "id": "2", "payload": {}})
    deleted = (await anext(stream)).decode()
    await stream.aclose()

    assert f'event: tier-{TIER}\ndata: <span class="num">5</span> left\n\n' in first
    assert "event: event-status\n" in first
    assert f"event: tier-{TIER}\ndata: " in sold_out and "Sold out" in sold_out
    assert "id:" not in sold_out  # the page reloads the present state, not a replay
    assert presents == [0, 1] and "5</span> left" in after_gap
    assert "event: event-status" in deleted and "no longer available" in deleted
