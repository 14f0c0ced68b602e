"""The pub/sub bus: one protocol, an in-memory bus for one process and a Redis bus for many.

Publishers reach it only through the unit of work (rule 2: sent after commit); streams reach it
through ``subscribe``. Delivery is at most once: a reconnecting Redis bus tells its subscribers to
reset (see ``fanout.Reset``) rather than pretending nothing was missed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from admitone.config import Settings
from admitone.realtime.fanout import Subscription
from admitone.realtime.memory_bus import MemoryBus
from admitone.realtime.redis_bus import RedisBus


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None:
        """Stop, and end every open subscription with ``Closed("shutdown")``."""
        ...

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None: ...

    def subscribe(
        self,
        topics: Iterable[str],
        *,
        last_event_id: str | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Subscription: ...


def build_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        return RedisBus(
            settings.redis_url,
            replay_size=settings.sse_replay_buffer_size,
            queue_size=settings.sse_client_queue_size,
        )
    return MemoryBus(
        replay_size=settings.sse_replay_buffer_size, queue_size=settings.sse_client_queue_size
    )


__all__ = ["Bus", "MemoryBus", "RedisBus", "Subscription", "build_bus"]
