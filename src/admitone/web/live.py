"""The event page's live availability as Server-Sent Events of HTML fragments: one event per
tier (``tier-<id>``, swapped by the element with that ``sse-swap``) and one for the event's
state (``event-status``). Rendered from the availability topic's messages, which carry no
personal data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admitone.events.topics import AVAILABILITY_CHANGED, EVENT_DELETED
from admitone.realtime.fanout import Envelope
from admitone.realtime.sse import format_event
from admitone.web.templating import fragment

EVENT_STATUS = "event-status"


def tier_event_name(tier_id: object) -> str:
    return f"tier-{tier_id}"


def availability_events(view: Mapping[str, Any]) -> bytes:
    """``view``: an availability message (``Availability.as_message()``)."""
    chunks = [
        format_event(fragment("_tier_left.html.j2", tier=tier), event=tier_event_name(tier["id"]))
        for tier in view["tiers"]
    ]
    chunks.append(format_event(fragment("_event_status.html.j2", view=view), event=EVENT_STATUS))
    return b"".join(chunks)


def removed_events() -> bytes:
    return format_event(fragment("_event_status.html.j2", view=None), event=EVENT_STATUS)


def render(envelope: Envelope) -> bytes:
    kind = envelope.message.get("type")
    if kind == AVAILABILITY_CHANGED:
        return availability_events(envelope.message["payload"])
    if kind == EVENT_DELETED:
        return removed_events()
    return b""
