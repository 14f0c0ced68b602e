"""A dedicated PostgreSQL connection that LISTENs for enqueued jobs and wakes the worker.

Polling stays as the fallback: a notification lost while reconnecting costs at most one poll
interval, never a job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from admitone.jobs import telemetry
from admitone.jobs.wakeups import CHANNEL

_RECONNECT_SECONDS = 2.0


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(
    sqlalchemy_url: str,
    on_queue: Callable[[str], None],
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Call ``on_queue(queue)`` for every notification, until cancelled; reconnects on loss."""
    dsn = asyncpg_dsn(sqlalchemy_url)

    def on_notification(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        on_queue(payload)

    while True:
        try:
            await _listen_once(dsn, on_notification, on_queue, ready)
            telemetry.log.warning("jobs_listener_disconnected")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            telemetry.log.warning("jobs_listener_failed", error=telemetry.describe_error(exc))
        await asyncio.sleep(_RECONNECT_SECONDS)


async def _listen_once(
    dsn: str,
    on_notification: Callable[[Any, int, str, str], None],
    on_queue: Callable[[str], None],
    ready: asyncio.Event | None,
) -> None:
    """Listen on one connection; returns when the connection is lost."""
    lost = asyncio.Event()
    connection: Any = await asyncpg.connect(dsn)
    try:
        connection.add_termination_listener(lambda _conn: lost.set())
        await connection.add_listener(CHANNEL, on_notification)
        telemetry.log.info("jobs_listening", channel=CHANNEL)
        if ready is not None:
            ready.set()
        # Whatever was enqueued while we were not listening is due now: look at once.
        on_queue("*")
        await lost.wait()
    finally:
        if not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
