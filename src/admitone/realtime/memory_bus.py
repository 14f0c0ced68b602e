"""The bus of a single process (embedded mode, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admitone.realtime import codec
from admitone.realtime.fanout import Fanout, FanoutSubscriptions


class MemoryBus(FanoutSubscriptions):
    def __init__(self, *, replay_size: int = 100, queue_size: int = 100) -> None:
        self.fanout = Fanout(replay_size=replay_size, queue_size=queue_size)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.fanout.close()

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        # Through JSON like the Redis bus, so that a message that would fail there fails here
        # too, and no subscriber shares a mutable dict with the publisher.
        self.fanout.deliver(topic, codec.normalise(message))
