"""Publishing from a use case: ``realtime.publish(uow, topic, type, payload)``.

The message is buffered on the unit of work and leaves only after the commit (rule 2); a
rollback sends nothing. Its shape, the same on every bus and on the SSE wire::

    {"type": "user_role_changed", "id": "<uuid4>", "at": "<ISO 8601 UTC>", "payload": {...}}

The payload is nested, never merged, so a payload field can never overwrite the envelope.
Payloads carry ids and statuses, not personal data: anyone allowed on the topic reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.realtime import codec
from admitone.realtime.fanout import ACCESS_TOPIC, USER_ACCESS_CHANGED, USER_DELETED
from admitone.realtime.topics import Topic, internal, registry, topic

# The stream's own control events (see sse.py); a message type must not be mistaken for them.
RESERVED_TYPES = frozenset({"reset", "close", "message"})

ACCESS = topic(
    ACCESS_TOPIC,
    internal(),
    "A user's right to topics changed: their open streams, on every process, check it again.",
)


def publish(
    uow: UnitOfWork, topic: str | Topic, type: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """Queue ``payload`` on ``topic`` (a concrete name such as ``tickets:user:<uuid>``, or a
    declared topic without placeholders). An undeclared topic raises ``UnknownTopic`` at once:
    a message nobody is allowed to read is a bug. Returns the message as it will be sent."""
    if type in RESERVED_TYPES or not type.isidentifier():
        raise ValueError(f"{type!r} cannot be a message type")
    name = topic.name() if isinstance(topic, Topic) else topic
    message = {
        "type": type,
        "id": str(new_uuid()),
        "at": uow.clock.now().isoformat(),
        # Normalised now, so an unencodable payload fails inside the transaction, not after.
        "payload": codec.normalise(payload),
    }
    uow.publish(registry.canonical(name), message)
    return message


def user_access_changed(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """After commit, the open streams of ``user_id`` re-check their topics (a role changed)."""
    publish(uow, ACCESS, USER_ACCESS_CHANGED, {"user_id": user_id})


def user_deleted(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """After commit, the open streams of ``user_id`` are closed."""
    publish(uow, ACCESS, USER_DELETED, {"user_id": user_id})
