"""Outside tests a server never signs with a key anyone else knows: without
ADMITONE_SECRET_KEY it makes one on its first start and keeps it next to its SQLite database
(0600), or refuses to start; production demands an explicit one."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from admitone import app as app_module
from admitone import cli
from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.config import ConfigurationError, SecretKeyUnavailable, Settings, load_settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, create_user, login, make_client

# The key every server without ADMITONE_SECRET_KEY signed with before: it is in the source.
PUBLISHED_KEY = "dev-only-secret-change-me-in-production"


@pytest.fixture(autouse=True)
def no_admitone_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ADMITONE_"):
            monkeypatch.delenv(name)


def sqlite_settings(directory: Path, **update: Any) -> Settings:
    """Settings as `make run` has them: no ADMITONE_ENV, no ADMITONE_SECRET_KEY."""
    return Settings(
        database_url=f"sqlite:///{directory / 'admitone.db'}", log_level="WARNING", **update
    )


def forged_token(user_id: object, clock: FrozenClock) -> str:
    now = int(clock.now().timestamp())
    claims: dict[str, object] = {"iss": "admitone", "sub": str(user_id), "typ": "access"}
    claims |= {"role": "owner", "iat": now, "exp": now + 600}
    return jwt.encode(claims, PUBLISHED_KEY, algorithm="HS256")


async def test_a_server_started_without_settings_refuses_tokens_signed_with_the_published_key(
    tmp_path: Path, clock: FrozenClock
) -> None:
    runtime = Runtime.build(sqlite_settings(tmp_path, run_worker_in_process=False), clock)
    app = create_app(runtime)
    try:
        async with app.router.lifespan_context(app), make_client(app) as client:
            owner = await create_user(runtime, Role.OWNER)
            forged = {"Authorization": f"Bearer {forged_token(owner.id, clock)}"}
            assert (await client.get("/api/me", headers=forged)).status_code == 401
            tokens = await login(client, owner.email, PASSWORD)  # its own tokens do work
            mine = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await client.get("/api/me", headers=mine)).status_code == 200
    finally:
        await runtime.close()


def test_the_key_is_made_once_next_to_the_database_for_its_owner_only(tmp_path: Path) -> None:
    first = sqlite_settings(tmp_path)
    key = first.signing_key
    key_file = tmp_path / "admitone.db.secret"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) >= 32 and key != PUBLISHED_KEY
    # A restart, the worker, the CLI: every later process reads the same key.
    assert sqlite_settings(tmp_path).signing_key == key
    assert [p.name for p in tmp_path.iterdir()] == ["admitone.db.secret"]  # no temporary left


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'admitone.db'}"
    script = "from admitone.config import load_settings; print(load_settings().signing_key)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADMITONE_")}
    env["ADMITONE_DATABASE_URL"] = database_url
    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].decode().strip() for process in processes}
    assert len(keys) == 1
    assert keys == {(tmp_path / "admitone.db.secret").read_text().strip()}


def test_a_damaged_key_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "admitone.db.secret").write_text("\n")
    with pytest.raises(SecretKeyUnavailable, match="delete it"):
        _ = sqlite_settings(tmp_path).signing_key


def test_an_unwritable_directory_is_refused_with_the_setting_to_use(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory"
    with pytest.raises(SecretKeyUnavailable, match="ADMITONE_SECRET_KEY"):
        _ = sqlite_settings(missing).signing_key


def test_a_postgres_database_without_a_key_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("ADMITONE_DATABASE_URL", postgres_url)
    with pytest.raises(ConfigurationError, match="ADMITONE_SECRET_KEY must be set"):
        load_settings()
    with pytest.raises(SecretKeyUnavailable):
        create_app(settings=Settings())
    for command in (["serve"], ["worker"], ["migrate"]):
        result = CliRunner().invoke(cli.app, command)
        assert result.exit_code == 2, result.output
        assert "ADMITONE_SECRET_KEY must be set" in result.output
        assert "Traceback" not in result.output


def test_an_explicit_key_is_used_as_given(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, secret_key="an operator's own key, long enough")
    assert settings.signing_key == "an operator's own key, long enough"
    assert list(tmp_path.iterdir()) == []


def test_production_demands_an_explicit_key_even_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ADMITONE_ENV", "production")
    monkeypatch.setenv("ADMITONE_DATABASE_URL", f"sqlite:///{tmp_path / 'admitone.db'}")
    with pytest.raises(ConfigurationError, match="ADMITONE_SECRET_KEY must be set"):
        load_settings()
    assert list(tmp_path.iterdir()) == []


def test_a_test_or_in_memory_database_gets_a_key_that_dies_with_the_process() -> None:
    for settings in (
        Settings(env="test", database_url="postgresql://db/x"),
        Settings(database_url="sqlite+aiosqlite:///:memory:"),
    ):
        assert len(settings.signing_key) >= 32
        assert settings.signing_key != Settings(env="test").signing_key


async def test_the_cli_and_a_restarted_server_sign_with_one_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ADMITONE_DATABASE_URL", f"sqlite:///{tmp_path / 'admitone.db'}")
    monkeypatch.setenv("ADMITONE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("ADMITONE_RUN_WORKER_IN_PROCESS", "false")
    # A server process's collector tuning stays out of this test process.
    monkeypatch.setattr(app_module, "tune_garbage_collector", lambda: None)
    demo = await asyncio.to_thread(CliRunner().invoke, cli.app, ["demo"])
    assert demo.exit_code == 0, demo.output
    key = (tmp_path / "admitone.db.secret").read_text().strip()

    token = ""
    for _start in range(2):  # a first start, then a restart
        app = app_module.create_app()
        async with app.router.lifespan_context(app), make_client(app) as client:
            assert app.state.runtime.settings.signing_key == key
            if not token:
                owner = await client.post(
                    "/api/auth/login",
                    json={"email": "owner@admitone.test", "password": "demo-owner-password"},
                )
                token = owner.json()["access_token"]
            me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text
