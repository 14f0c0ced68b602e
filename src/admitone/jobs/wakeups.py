"""Waking workers when a job becomes due, instead of leaving it to the next poll.

PostgreSQL: ``pg_notify`` inside the enqueuing transaction, delivered by the server only at
commit, to every process that LISTENs (see ``listener``). In-process workers are also woken
directly after commit, which is all SQLite has.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from admitone.core.db import UnitOfWork

CHANNEL = "admitone_jobs"

WakeUp = Callable[[str], None]
_local: set[WakeUp] = set()


def subscribe_local(callback: WakeUp) -> None:
    _local.add(callback)


def unsubscribe_local(callback: WakeUp) -> None:
    _local.discard(callback)


def wake_local(queue: str) -> None:
    for callback in list(_local):
        callback(queue)


async def announce(uow: UnitOfWork, queue: str) -> None:
    """Make a due job on ``queue`` known to workers once (and only if) ``uow`` commits."""
    connection = await uow.session.connection()
    if connection.dialect.name == "postgresql":
        await uow.session.execute(select(func.pg_notify(CHANNEL, queue)))

    async def wake() -> None:
        wake_local(queue)

    uow.after_commit(wake)
