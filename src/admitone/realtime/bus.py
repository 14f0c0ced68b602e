"""The pub/sub bus. Placeholder: the platform-services issue brings the real buses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from admitone.config import Settings


class Bus(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, topic: str, message: Mapping[str, Any]) -> None: ...


class MemoryBus:
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        return None


def build_bus(settings: Settings) -> Bus:
    return MemoryBus()
