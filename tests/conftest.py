"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

Without PostgreSQL or Redis those runs skip with a loud notice; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role, User
from admitone.activity import service as activity_service
from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.core.logs import configure_logging
from admitone.core.security import use_cheap_password_hashing
from admitone.runtime import Runtime
from tests.backends import (
    REDIS_URL,
    PostgresTemplate,
    SqliteTemplate,
    postgres_available,
    redis_available,
)

# Fixtures every test package shares, kept in tests/support with their helpers.
pytest_plugins = ["tests.support.postgres", "tests.support.users"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery staple"
# For tests that make many requests from one client: each limit has tests of its own.
RELAXED_RATE_LIMITS: dict[str, Any] = {
    "rate_limit_strict": "100000/minute",
    "rate_limit_default": "100000/minute",
}
# Services whose tests skipped, read from the skip reports: under pytest-xdist the skips happen
# in the workers, and only the reports reach the process that prints the summary.
_skipped: set[str] = set()
_SERVICE_MISSING = re.compile(r"(\w+) is not reachable: the \1 runs of this test were NOT executed")


def require_service(name: str, available: bool) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required under CI=true but is not reachable", pytrace=False)
    pytest.skip(f"{name} is not reachable: the {name} runs of this test were NOT executed")


def pytest_configure(config: pytest.Config) -> None:
    configure_logging(json=False, level="WARNING")
    use_cheap_password_hashing()  # argon2 at full cost would dominate the suite's run time
    activity_service.set_strict(True)  # unsafe activity metadata fails the test that logs it


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return
    if missing := _SERVICE_MISSING.search(str(report.longrepr[2])):
        _skipped.add(missing.group(1))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        terminalreporter.write_sep("!", "SERVICES MISSING", red=True, bold=True)
        for name in sorted(_skipped):
            terminalreporter.write_line(
                f"{name} was not reachable: its tests were SKIPPED. CI=true makes this an error.",
                red=True,
            )


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[PostgresTemplate | None]:
    if not postgres_available():
        yield None
        return
    template = PostgresTemplate()
    template.create()
    yield template
    template.destroy()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    template = SqliteTemplate(tmp_path_factory.mktemp("sqlite"))
    template.create()
    return template


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres":
        require_service("PostgreSQL", postgres_available())
    return name


@pytest.fixture
def database_url(
    backend: str,
    _sqlite_template: SqliteTemplate,
    _pg_template: PostgresTemplate | None,
) -> Iterator[str]:
    if backend == "sqlite":
        yield _sqlite_template.new_database()
        return
    assert _pg_template is not None
    name = _pg_template.new_database()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    _pg_template.release(name)


@pytest.fixture
def postgres_url(
    _pg_template: PostgresTemplate | None,
) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests that are about PostgreSQL itself."""
    require_service("PostgreSQL", postgres_available())
    assert _pg_template is not None
    name = _pg_template.new_database()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    _pg_template.release(name)


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", redis_available())
    return REDIS_URL


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


def settings_for(database_url: str) -> Settings:
    return Settings(
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=None,
        run_worker_in_process=False,
        # Each test gets its own keys, so tests sharing one Redis never share a budget.
        rate_limit_key_prefix=f"admitone-test-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@asynccontextmanager
async def started(runtime: Runtime) -> AsyncIterator[Runtime]:
    """``runtime`` started, and closed on the way out."""
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    async with started(Runtime.build(settings, clock)) as runtime:
        yield runtime


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[FastAPI]:
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as client:
        yield client


def make_client(app: FastAPI, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://admitone.test")


async def create_user(
    runtime: Runtime, role: Role = Role.CUSTOMER, email: str | None = None, name: str = "Test User"
) -> User:
    async with runtime.unit_of_work() as uow:
        return await accounts_service.create_user(
            uow,
            runtime.settings,
            email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
            name=name,
            password=PASSWORD,
            role=role,
        )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def auth_headers(
    client: httpx.AsyncClient, runtime: Runtime, role: Role = Role.CUSTOMER
) -> tuple[User, dict[str, str]]:
    """A new user of ``role``, signed in; returns the user and its Authorization header."""
    user = await create_user(runtime, role)
    tokens = await login(client, user.email)
    return user, {"Authorization": f"Bearer {tokens['access_token']}"}
