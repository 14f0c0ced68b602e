"""Runtimes that send through a real SMTP server or keep messages in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.notifications import jobs as notifications_jobs  # noqa: F401 - registers the send job
from admitone.notifications.senders import MemorySender
from admitone.runtime import Runtime
from tests.conftest import started
from tests.notifications.smtp_server import SmtpServer
from tests.support.app_process import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def smtp_runtime(
    settings: Settings, clock: FrozenClock, smtp_server: SmtpServer
) -> AsyncIterator[Runtime]:
    smtp_settings = settings.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_tls": "none",
            "smtp_timeout_seconds": 5.0,
        }
    )
    async with started(Runtime.build(smtp_settings, clock)) as runtime:
        yield runtime


@pytest.fixture
async def memory_runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    async with started(Runtime.build(settings, clock, email_sender=MemorySender())) as runtime:
        yield runtime


@pytest.fixture
def outbox(memory_runtime: Runtime) -> MemorySender:
    assert isinstance(memory_runtime.email_sender, MemorySender)
    return memory_runtime.email_sender
