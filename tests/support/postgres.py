"""A runtime on its own PostgreSQL database, for tests about PostgreSQL itself: real app or
worker processes sharing the database, many connections racing.

``pg_runtime`` is built from ``pg_settings`` and ``pg_clock``; a test module overrides either
fixture (taking the one it overrides as an argument) to change what its runtime differs by.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from admitone.config import Settings
from admitone.core.clock import Clock, SystemClock
from admitone.runtime import Runtime
from tests.conftest import settings_for, started


@pytest.fixture
def pg_settings(postgres_url: str) -> Settings:
    # The processes under test open pools of their own on the same server, which other test
    # runs on this machine share.
    return settings_for(postgres_url).model_copy(
        update={"database_pool_size": 2, "database_max_overflow": 2}
    )


@pytest.fixture
def pg_clock() -> Clock:
    # Processes under test run on the system clock: what the test dates must agree with them.
    return SystemClock()


@pytest.fixture
async def pg_runtime(pg_settings: Settings, pg_clock: Clock) -> AsyncIterator[Runtime]:
    async with started(Runtime.build(pg_settings, pg_clock)) as runtime:
        yield runtime
