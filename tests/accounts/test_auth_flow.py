from __future__ import annotations

from datetime import timedelta

import httpx

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, create_user, login


async def test_register_then_login_then_me(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "Ada@Example.com", "name": "Ada", "password": PASSWORD},
    )
    assert response.status_code == 201
    assert response.json()["role"] == "customer"

    tokens = await login(client, "ada@example.com")
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "Ada@example.com"


async def test_access_token_expires_after_fifteen_minutes(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    user = await create_user(runtime, Role.CUSTOMER)
    tokens = await login(client, user.email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    clock.advance(timedelta(minutes=14, seconds=59))
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = await client.get("/api/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"
