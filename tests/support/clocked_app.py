"""An app factory for server processes under test whose clock the test can move: the wall
clock plus an offset in seconds read from the file named by ``ADMITONE_TEST_CLOCK_FILE``
(``ShiftedClock.advance`` writes it). Everything the server does, the in-process job worker
included, asks this clock, so a test jumps over a 15-minute payment hold instead of waiting.

    uvicorn tests.support.clocked_app:create_app --factory
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from admitone.app import create_app as create_admitone_app
from admitone.config import Settings
from admitone.core.logs import configure_logging
from admitone.core.security import use_cheap_password_hashing
from admitone.runtime import Runtime

CLOCK_FILE_VARIABLE = "ADMITONE_TEST_CLOCK_FILE"


class ShiftedClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def offset(self) -> timedelta:
        try:
            return timedelta(seconds=float(self.path.read_text() or 0))
        except FileNotFoundError:
            return timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def advance(self, delta: timedelta) -> None:
        # Written whole, then renamed: the server never reads half a number.
        partial = self.path.with_suffix(".partial")
        partial.write_text(str((self.offset() + delta).total_seconds()))
        partial.replace(self.path)


def create_app() -> FastAPI:
    settings = Settings()
    configure_logging(json=False, level=settings.log_level)
    use_cheap_password_hashing()
    runtime = Runtime.build(settings, ShiftedClock(Path(os.environ[CLOCK_FILE_VARIABLE])))
    app = create_admitone_app(runtime)
    serve = app.router.lifespan_context

    # An app given its runtime leaves starting and closing it to the caller: here, the process.
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            async with serve(app):
                yield
        finally:
            await runtime.close()

    app.router.lifespan_context = lifespan
    return app
