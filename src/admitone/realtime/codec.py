"""JSON encoding of bus messages, shared by every bus so that a message looks the same to a
subscriber whether it came through memory or through Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be sent on the bus")


def encode(message: Mapping[str, Any]) -> str:
    return json.dumps(message, default=_default, separators=(",", ":"), ensure_ascii=False)


def decode(raw: str | bytes) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("a bus message is a JSON object")
    return value


def normalise(message: Mapping[str, Any]) -> dict[str, Any]:
    """The message as every subscriber will see it (UUIDs and times as strings)."""
    return decode(encode(message))
