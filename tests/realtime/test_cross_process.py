"""The message caused by a request to one app process reaches an SSE client of another, through
Redis: two real uvicorn processes sharing one database and one Redis."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from admitone.accounts.models import Role
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, TEST_SECRET, create_user
from tests.support.app_process import two_app_processes
from tests.support.sse import SseReader

STARTUP_SECONDS = 60.0
WAIT = 10.0


def app_settings(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "ADMITONE_ENV": "test",
        "ADMITONE_SECRET_KEY": TEST_SECRET,
        "ADMITONE_DATABASE_URL": database_url,
        "ADMITONE_REDIS_URL": redis_url,
        "ADMITONE_RUN_WORKER_IN_PROCESS": "false",
        "ADMITONE_AUTO_MIGRATE": "false",
        "ADMITONE_RATE_LIMIT_KEY_PREFIX": f"admitone-test-{uuid.uuid4().hex[:8]}",
        "ADMITONE_LOG_LEVEL": "WARNING",
        "ADMITONE_SSE_KEEPALIVE_SECONDS": "1",
    }


async def test_a_role_change_on_process_a_reaches_a_staff_stream_on_process_b(
    runtime: Runtime, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    owner = await create_user(runtime, Role.OWNER)
    customer = await create_user(runtime, Role.CUSTOMER)
    async with (
        two_app_processes(
            app_settings(database_url, redis_url), tmp_path, within=STARTUP_SECONDS
        ) as (process_a, process_b),
        httpx.AsyncClient(base_url=process_a.url, timeout=WAIT) as a,
        httpx.AsyncClient(base_url=process_b.url, timeout=WAIT) as b,
    ):
        login = await a.post("/api/auth/login", json={"email": owner.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async with b.stream(
            "GET", "/api/stream", params={"topics": "accounts:users"}, headers=headers
        ) as stream:
            assert stream.status_code == 200
            reader = SseReader(stream)
            try:
                first = await reader.next(WAIT)
                assert first is not None and first.retry is not None  # B has subscribed

                changed = await a.put(
                    f"/api/users/{customer.id}/role",
                    json={"role": "organizer"},
                    headers=headers,
                )
                assert changed.status_code == 200, changed.text

                # Other tests may share this Redis: pick this test's message out.
                event = await reader.next_event(
                    lambda e: (
                        e.event == "user_role_changed"
                        and e.json()["payload"]["user_id"] == str(customer.id)
                    ),
                    within=WAIT,
                )
            finally:
                await reader.aclose()
    assert event.json()["payload"]["role"] == "organizer"
    assert event.json()["topic"] == "accounts:users"


async def test_demoting_an_admin_on_process_a_ends_their_staff_stream_on_process_b(
    runtime: Runtime, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    owner = await create_user(runtime, Role.OWNER)
    admin = await create_user(runtime, Role.ADMIN)
    async with (
        two_app_processes(
            app_settings(database_url, redis_url), tmp_path, within=STARTUP_SECONDS
        ) as (process_a, process_b),
        httpx.AsyncClient(base_url=process_a.url, timeout=WAIT) as a,
        httpx.AsyncClient(base_url=process_b.url, timeout=WAIT) as b,
    ):
        tokens = {}
        for user in (owner, admin):
            login = await a.post(
                "/api/auth/login", json={"email": user.email, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            tokens[user.id] = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async with b.stream(
            "GET", "/api/stream", params={"topics": "accounts:users"}, headers=tokens[admin.id]
        ) as stream:
            assert stream.status_code == 200
            reader = SseReader(stream)
            try:
                first = await reader.next(WAIT)
                assert first is not None and first.retry is not None  # B has subscribed

                demoted = await a.put(
                    f"/api/users/{admin.id}/role",
                    json={"role": "customer"},
                    headers=tokens[owner.id],
                )
                assert demoted.status_code == 200, demoted.text
                closed = await reader.next_event(lambda e: e.event == "close", within=WAIT)
            finally:
                await reader.aclose()
    assert closed.json()["reason"] == "access_revoked"
