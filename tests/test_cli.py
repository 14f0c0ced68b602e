"""The ``admitone`` command as an operator types it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from admitone import cli, schema
from admitone.accounts import service as accounts_service
from admitone.config import Settings
from admitone.core.logs import configure_logging
from admitone.demo import DEMO_ACCOUNTS
from admitone.runtime import Runtime
from tests.backends import pg_admin, pg_url, postgres_available
from tests.conftest import TEST_SECRET, require_service

STRONG_PASSWORD = "a sturdy passphrase for the owner"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run ``admitone <args>`` with ADMITONE_* settings from the environment."""
    monkeypatch.setenv("ADMITONE_ENV", "test")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ADMITONE_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("ADMITONE_REDIS_URL", raising=False)

    def run(database_url: str, *args: str) -> Result:
        monkeypatch.setenv("ADMITONE_DATABASE_URL", database_url)
        return CliRunner().invoke(cli.app, list(args))

    yield run
    configure_logging(json=False, level="WARNING")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


async def _login(database_url: str, email: str, password: str) -> str:
    runtime = Runtime.build(Settings(database_url=database_url, secret_key=TEST_SECRET))
    try:
        async with runtime.unit_of_work() as uow:
            user, _ = await accounts_service.login(
                uow, runtime.settings, email=email, password=password
            )
            return user.role
    finally:
        await runtime.close()


def signs_in_as(database_url: str, email: str, password: str) -> str:
    return asyncio.run(_login(database_url, email, password))


def test_migrate_then_createuser_makes_an_owner_who_can_sign_in(
    run: Any, database_url: str
) -> None:
    migrated = run(database_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert schema.head_revision() in migrated.output

    email = f"boss-{uuid.uuid4().hex[:6]}@example.com"
    created = run(
        database_url,
        "createuser", "--role", "owner", "--email", email, "--name", "The Boss",
        "--password", STRONG_PASSWORD,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert f"created owner {email}" in created.output
    assert signs_in_as(database_url, email, STRONG_PASSWORD) == "owner"


def test_createuser_refuses_a_weak_password(run: Any, sqlite_file: str) -> None:
    result = run(
        sqlite_file,
        "createuser", "--email", "weak@example.com", "--name", "Weak", "--password", "password123",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "password" in result.output.lower()
    assert "password123" not in result.output


def test_createuser_refuses_an_email_in_use(run: Any, sqlite_file: str) -> None:
    args = ["createuser", "--email", "twice@example.com", "--name", "Twice"]
    assert run(sqlite_file, *args, "--password", STRONG_PASSWORD).exit_code == 0
    again = run(
        sqlite_file, *args[:2], "TWICE@example.com", *args[3:], "--password", STRONG_PASSWORD
    )
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_demo_seeds_an_empty_database_once(run: Any, sqlite_file: str) -> None:
    first = run(sqlite_file, "demo")
    assert first.exit_code == 0, first.output
    assert "created demo data" in first.output
    for account in DEMO_ACCOUNTS:
        assert account.email in first.output
        assert account.password in first.output
        assert signs_in_as(sqlite_file, account.email, account.password) == account.role.value

    second = run(sqlite_file, "demo")
    assert second.exit_code == 0, second.output
    assert "kept existing demo data" in second.output


def test_demo_is_refused_in_production(run: Any, sqlite_file: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", "p" * 40)
    monkeypatch.setenv("ADMITONE_PAYMENT_GATEWAY", "stripe")
    monkeypatch.setenv("ADMITONE_STRIPE_SECRET_KEY", "sk_test_not_a_real_key")
    monkeypatch.setenv("ADMITONE_EMAIL_BACKEND", "smtp")
    result = run(sqlite_file, "demo")
    assert result.exit_code == 2
    assert "never" in result.output


def test_a_bad_configuration_is_named_without_a_traceback(
    run: Any, sqlite_file: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_SECRET_KEY", "short")
    result = run(sqlite_file, "migrate")
    assert result.exit_code == 2
    assert "ADMITONE_SECRET_KEY" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    require_service("PostgreSQL", postgres_available())
    name = f"admitone_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_serve_refuses_an_unmigrated_postgres_database(
    run: Any, monkeypatch: pytest.MonkeyPatch, empty_postgres_url: str
) -> None:
    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started a server on an unmigrated database")

    monkeypatch.setattr(uvicorn, "run", no_server)
    result = run(empty_postgres_url, "serve")
    assert result.exit_code == 2, result.output
    assert "not migrated" in result.output
    assert "admitone migrate" in result.output


def test_serve_migrates_an_embedded_sqlite_database_then_serves(
    run: Any, monkeypatch: pytest.MonkeyPatch, sqlite_file: str
) -> None:
    served: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: served.append(kw))
    result = run(sqlite_file, "serve", "--port", "4999")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:4999" in result.output
    assert served and served[0]["port"] == 4999
