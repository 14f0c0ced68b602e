"""Fixtures of the web tests: in-process pages through the ASGI client, and, for the browser
tests, a real server process per backend driven by Debian's Chromium through Playwright.

The browser is never downloaded (no ``playwright install``): ``/usr/bin/chromium`` is used, as
``.ci/run`` installs it. A failing browser test leaves a screenshot of each of its pages in
``test-artifacts/`` and prints the paths.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.events.schemas import EventCreate, TierCreate
from admitone.runtime import Runtime
from tests.backends import PostgresTemplate, SqliteTemplate
from tests.conftest import TEST_SECRET, create_user, require_service
from tests.support.app_process import AppProcess, app_process, wait_until_ready
from tests.support.clocked_app import CLOCK_FILE_VARIABLE, ShiftedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class WebEvent:
    id: uuid.UUID
    tier_ids: list[uuid.UUID]


async def make_event(
    runtime: Runtime,
    *,
    tiers: list[tuple[str, str, int]],
    name: str = "Spring concert",
    starts_at: datetime | None = None,
    timezone: str = "Europe/Paris",
    description: str = "An evening of music.",
) -> WebEvent:
    """A published event of a new organizer, with ``tiers`` as (name, price, capacity)."""
    organizer = await create_user(runtime, Role.ORGANIZER)
    actor = Actor(organizer.id, organizer.role)
    data = EventCreate(
        name=name,
        venue="Town Hall",
        date=starts_at or runtime.clock.now().replace(microsecond=0) + timedelta(days=30),
        timezone=timezone,
        description=description,
        tiers=[TierCreate(name=n, price=p, capacity=c) for n, p, c in tiers],
    )
    async with runtime.unit_of_work() as uow:
        detail = await events_service.create_event(uow, actor, data)
        await events_service.publish_event(uow, actor, detail.event.id)
    ordered = sorted(detail.tiers, key=lambda t: t.position)
    return WebEvent(detail.event.id, [t.id for t in ordered])


# -- a server process per backend, for the browser tests ----------------------------------------


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """Call ``function`` in a thread of its own: Playwright's synchronous API keeps an event
    loop running in this one, and ``asyncio.run`` refuses to start inside it."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(function, *args).result()


@dataclass
class Server:
    url: str
    database_url: str
    clock: ShiftedClock
    process: AppProcess

    def settings(self) -> Settings:
        return Settings(env="test", secret_key=TEST_SECRET, database_url=self.database_url)

    def run(self, coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``coroutine_function(runtime, ...)`` against the server's database, from this
        process (arranging data the way an organizer would, through the services)."""

        async def main() -> Any:
            runtime = Runtime.build(self.settings(), self.clock)
            await runtime.start()
            try:
                return await coroutine_function(runtime, *args, **kwargs)
            finally:
                await runtime.close()

        return off_loop(asyncio.run, main())


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
    _sqlite_template: SqliteTemplate,
    _pg_template: PostgresTemplate | None,
) -> Iterator[dict[str, Server]]:
    """One server per backend for a module's browser tests, started side by side (starting
    one is most of a browser test's time); each test makes its own event. A server's clock
    only moves forward, so a test that jumps over a hold disturbs no other."""
    databases = {"sqlite": _sqlite_template.new_database()}
    pg_name = None
    if _pg_template is not None:
        pg_name = off_loop(_pg_template.new_database)
        databases["postgres"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    try:
        with ExitStack() as stack:
            started = {}
            for backend, database_url in databases.items():
                folder = tmp_path_factory.mktemp(f"server-{backend}")
                clock = ShiftedClock(folder / "clock")
                process = stack.enter_context(
                    app_process(
                        _server_settings(database_url, clock),
                        folder / "server.log",
                        factory="tests.support.clocked_app:create_app",
                    )
                )
                started[backend] = Server(process.url, database_url, clock, process)
            off_loop(asyncio.run, _all_ready(started.values()))
            yield started
    finally:
        if pg_name is not None and _pg_template is not None:
            _pg_template.release(pg_name)


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, servers: dict[str, Server]) -> Server:
    if request.param == "postgres":
        require_service("PostgreSQL", "postgres" in servers)
    return servers[request.param]


def _server_settings(database_url: str, clock: ShiftedClock) -> dict[str, str]:
    return {
        "ADMITONE_ENV": "test",
        "ADMITONE_SECRET_KEY": TEST_SECRET,
        "ADMITONE_DATABASE_URL": database_url,
        "ADMITONE_RATE_LIMITS_ENABLED": "false",
        "ADMITONE_EMAIL_BACKEND": "memory",
        "ADMITONE_LOG_LEVEL": "WARNING",
        "ADMITONE_JOB_POLL_INTERVAL_SECONDS": "0.2",
        CLOCK_FILE_VARIABLE: str(clock.path),
    }


async def _all_ready(servers: Iterable[Server]) -> None:
    await asyncio.gather(*(wait_until_ready(s.process, within=90) for s in servers))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser_context(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (cookies, storage) per test; screenshots if the test fails."""
    contexts: list[Any] = []

    def new_context(**options: Any) -> Any:
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield new_context
    if request.node.stash.get(_FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                path = ARTIFACTS / f"{name}-{i}-{j}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot of the failing step: {path} ({page.url})")
                except Exception as exc:  # a crashed page must not hide the test's failure
                    print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        context.close()
