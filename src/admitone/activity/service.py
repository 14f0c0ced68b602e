"""Recording activity entries (rule 9), and reading them back for the admin log.

An entry is written in the business transaction, so it commits or vanishes with the change it
describes, but inside a SAVEPOINT: a failure to write it is rolled back alone, logged and
counted, and never fails the use case that recorded it. The entries of one transaction are
buffered and written together just before it commits (one savepoint and one INSERT, where a
paid order used to cost three of each).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any, Literal

import structlog
from prometheus_client import Counter
from sqlalchemy import insert

from admitone.activity import repository
from admitone.activity.errors import ActivityRefused, InvalidActivityAction
from admitone.activity.metadata import clean_metadata
from admitone.activity.models import AUTO, MANUAL, ActivityEntry
from admitone.activity.repository import ActivityFilters
from admitone.core.actor import SYSTEM, current_actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page

log = structlog.get_logger(__name__)

Mode = Literal["manual", "auto"]

ACTION_PATTERN = re.compile(r"[a-z]+\.[a-z]+(_[a-z]+)+")
RESOURCE_TYPE_PATTERN = re.compile(r"[a-z][a-z_]{0,39}")

RECORD_FAILURES = Counter(
    "admitone_activity_record_failures_total",
    "Activity entries not written; the business change went on without them.",
    ["reason"],
)
METADATA_DROPPED = Counter(
    "admitone_activity_metadata_dropped_total",
    "Metadata values dropped from activity entries because they are not allow-listed.",
)

_strict = False


def set_strict(enabled: bool) -> bool:
    """Raise on a bad action name or unsafe metadata instead of dropping it; returns the previous
    setting. The tests turn it on, so a bad call site fails its test instead of quietly losing
    audit data (or leaking PII) in production."""
    global _strict  # one process-wide policy, set once at start-up
    previous, _strict = _strict, enabled
    return previous


async def record(
    uow: UnitOfWork,
    action: str,
    *,
    resource_type: str | None = None,
    resource_uuid: uuid.UUID | None = None,
    target_uuid: uuid.UUID | None = None,
    metadata: Mapping[str, object] | None = None,
    mode: Mode | None = None,
) -> None:
    """Record that the current actor did ``action`` (``<module>.<resource>_<verb>``)."""
    actor = current_actor()
    try:
        _check_names(action, resource_type)
        cleaned = clean_metadata(metadata, strict=_strict)
    except ActivityRefused:
        if _strict:
            raise
        RECORD_FAILURES.labels(reason="refused").inc()
        log.exception("activity_refused", action=action[:100])
        return
    for refusal in cleaned.dropped:
        METADATA_DROPPED.inc()
        log.warning("activity_metadata_dropped", action=action, key=refusal.key, why=refusal.reason)

    entry = {
        "id": new_uuid(),
        "action": action,
        "actor_uuid": actor.uuid,
        "actor_role": actor.role,
        "mode": mode or (AUTO if actor.role == SYSTEM.role else MANUAL),
        "resource_type": resource_type,
        "resource_uuid": resource_uuid,
        "target_uuid": target_uuid,
        "meta": cleaned.values,
        "created_at": uow.clock.now(),
    }
    uow.buffer("activity", entry, partial(_write, uow))


async def _write(uow: UnitOfWork, entries: list[dict[str, Any]]) -> None:
    """All the entries of one transaction in one INSERT, just before it commits."""
    # The caller's pending changes are flushed outside the savepoint: their errors are the
    # caller's and must not be swallowed below as if they were a logging failure.
    await uow.flush()
    try:
        async with uow.session.begin_nested():
            # render_nulls: one INSERT for all entries, not one per pattern of empty columns.
            await uow.session.execute(
                insert(ActivityEntry).execution_options(render_nulls=True), entries
            )
    except Exception:
        RECORD_FAILURES.labels(reason="write_error").inc(len(entries))
        log.exception("activity_write_failed", actions=sorted({e["action"] for e in entries}))


def _check_names(action: str, resource_type: str | None) -> None:
    if not ACTION_PATTERN.fullmatch(action):
        raise InvalidActivityAction(
            f"activity action {action[:100]!r} is not named <module>.<resource>_<verb>"
        )
    if resource_type is not None and not RESOURCE_TYPE_PATTERN.fullmatch(resource_type):
        raise InvalidActivityAction(f"activity resource type {resource_type[:100]!r} is not valid")


async def list_entries(
    uow: UnitOfWork, filters: ActivityFilters, *, limit: int | None, cursor: str | None
) -> Page[ActivityEntry]:
    await uow.write_buffered()  # what this transaction recorded so far is part of the log
    return await repository.list_entries(uow.session, filters, limit=limit, cursor=cursor)
