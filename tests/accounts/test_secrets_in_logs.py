"""A password or a token never reaches a log line, whatever goes wrong."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import structlog

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
