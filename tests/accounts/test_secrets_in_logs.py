"""A password or a token never reaches a log line, whatever goes wrong."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from unittest.mock import AsyncMock

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from admitone.accounts import service as accounts_service
from admitone.accounts.errors import EmailTaken
from admitone.core.logs import configure_logging
from admitone.runtime import Runtime
from tests.conftest import create_user, login

SECRET_PASSWORD = "hunter2-is-not-a-secret-anymore"


@pytest.fixture
def verbose_logs() -> Iterator[None]:
    configure_logging(json=True, level="DEBUG")
    yield
    configure_logging(json=False, level="WARNING")


@pytest.mark.usefixtures("verbose_logs")
async def test_failed_login_logs_neither_password_nor_email_secret(
    client: httpx.AsyncClient, runtime: Runtime, capfd: pytest.CaptureFixture[str]
) -> None:
    user = await create_user(runtime)
    response = await client.post(
        "/api/auth/login", json={"email": user.email, "password": SECRET_PASSWORD}
    )
    assert response.status_code == 401
    err = capfd.readouterr().err
    assert "invalid_credentials" in err  # the refusal is logged ...
    assert SECRET_PASSWORD not in err  # ... without the password


@pytest.mark.usefixtures("verbose_logs")
async def test_validation_error_logs_no_password(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    too_long = SECRET_PASSWORD * 10
    response = await client.post(
        "/api/auth/register", json={"email": "x@example.com", "name": "X", "password": too_long}
    )
    assert response.status_code == 422
    err = capfd.readouterr().err
    assert "validation_error" in err
    assert SECRET_PASSWORD not in err


@pytest.mark.usefixtures("verbose_logs")
async def test_token_errors_log_no_token(
    client: httpx.AsyncClient, runtime: Runtime, capfd: pytest.CaptureFixture[str]
) -> None:
    user = await create_user(runtime)
    tokens = await login(client, user.email)
    refresh = tokens["refresh_token"]
    await client.post("/api/auth/refresh", json={"refresh_token": refresh})
    replay = await client.post("/api/auth/refresh", json={"refresh_token": refresh})
    assert replay.status_code == 401
    bad_access = tokens["access_token"][:-4] + "AAAA"
    assert (
        await client.get("/api/me", headers={"Authorization": f"Bearer {bad_access}"})
    ).status_code == 401
    err = capfd.readouterr().err
    assert "refresh_token_reused" in err
    assert refresh not in err
    assert tokens["access_token"].split(".")[2] not in err


def test_secret_keys_are_redacted_whoever_logs_them(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, level="INFO")
    try:
        structlog.get_logger("test").info("oops", password=SECRET_PASSWORD, token="t0ken-value")
    finally:
        configure_logging(json=False, level="WARNING")
    err = capfd.readouterr().err
    assert "oops" in err
    assert SECRET_PASSWORD not in err
    assert "t0ken-value" not in err


PII_EMAIL = "priya.private@example.com"
PII_NAME = "Priya Private-Person"


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """structlog at DEBUG, and every stdlib logger (SQLAlchemy's statement log included)."""
    configure_logging(json=True, level="DEBUG")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    yield
    configure_logging(json=False, level="WARNING")


def assert_no_pii(output: str) -> None:
    assert PII_EMAIL not in output.lower()
    assert PII_NAME not in output
    assert "$argon2" not in output


async def refuse_inserts_into_users(runtime: Runtime) -> None:
    """Make every INSERT into ``users`` fail with an error no use case expects."""
    async with runtime.database.engine.begin() as conn:
        if runtime.database.is_sqlite:
            # The missing table is only looked up when the trigger fires.
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_users BEFORE INSERT ON users "
                "BEGIN SELECT * FROM no_such_table; END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION refuse_users() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'inserts refused'; END $$"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER refuse_users BEFORE INSERT ON users "
                "FOR EACH ROW EXECUTE FUNCTION refuse_users()"
            )


@pytest.mark.usefixtures("every_log")
async def test_an_insert_refused_by_the_unique_index_logs_no_personal_data(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await create_user(runtime, email=PII_EMAIL, name=PII_NAME)
    # A concurrent registration that passed the lookup before the first one committed.
    monkeypatch.setattr(accounts_service, "get_by_email", AsyncMock(return_value=None))
    with pytest.raises(EmailTaken) as refused:
        await create_user(runtime, email=PII_EMAIL.upper(), name=PII_NAME)
    assert isinstance(refused.value.__cause__, IntegrityError)  # the INSERT itself failed
    # Whoever logs the database error logs what it says.
    structlog.get_logger("test").error("insert_failed", exc_info=refused.value.__cause__)
    logging.getLogger("test").error("insert failed", exc_info=refused.value.__cause__)

    output = capfd.readouterr().err + caplog.text
    assert "insert_failed" in output
    assert "INSERT INTO users" in output  # SQLAlchemy's statement log ran ...
    assert_no_pii(output)  # ... without the parameters


@pytest.mark.usefixtures("every_log")
async def test_a_failing_insert_answered_with_a_500_logs_no_personal_data(
    app: FastAPI,
    runtime: Runtime,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await refuse_inserts_into_users(runtime)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://admitone.test") as client:
        response = await client.post(
            "/api/auth/register",
            json={"email": PII_EMAIL, "name": PII_NAME, "password": "a sturdy passphrase"},
        )
    assert response.status_code == 500
    output = capfd.readouterr().err + caplog.text
    assert "unhandled_error" in output and "INSERT INTO users" in output
    assert_no_pii(output)
