"""Keyset (cursor) pagination over ``(created_at, id)``: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from admitone.core.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        at, last_id = datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not valid.", field="cursor") from exc
    if at.tzinfo is None:  # only a forged cursor is naive; the database would refuse it later
        raise InvalidInput("The cursor is not valid.", field="cursor")
    return at, last_id


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return limit


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    limit: int | None,
    cursor: str | None,
    newest_first: bool = True,
) -> Page[Any]:
    """Run ``stmt`` (selecting one entity) one page at a time."""
    size = clamp_limit(limit)
    if cursor:
        at, last_id = decode_cursor(cursor)
        if newest_first:
            stmt = stmt.where(or_(created_at < at, and_(created_at == at, row_id < last_id)))
        else:
            stmt = stmt.where(or_(created_at > at, and_(created_at == at, row_id > last_id)))
    order = (created_at.desc(), row_id.desc()) if newest_first else (created_at, row_id)
    rows = list((await session.scalars(stmt.order_by(*order).limit(size + 1))).all())
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key))
    return Page(rows, next_cursor)
