"""Access tokens and refresh tokens under attack: expired, tampered, unsigned, foreign,
replayed, raced."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from admitone.accounts.models import RefreshToken, Role
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.core.errors import InvalidToken
from admitone.core.security import decode_access_token, issue_access_token
from admitone.runtime import Runtime
from tests.conftest import TEST_SECRET, create_user, login
from tests.support.envelope import assert_envelope


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def signed_in(
    client: httpx.AsyncClient, runtime: Runtime
) -> tuple[uuid.UUID, dict[str, Any]]:
    user = await create_user(runtime, Role.CUSTOMER)
    return user.id, await login(client, user.email)


async def test_me_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/api/me"), 401, "not_authenticated")


async def test_expired_access_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    _, tokens = await signed_in(client, runtime)
    clock.advance(minutes=16)
    body = assert_envelope(
        await client.get("/api/me", headers=bearer(tokens["access_token"])), 401, "invalid_token"
    )
    assert body["details"]["reason"] == "expired"


async def test_tampered_signature_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, tokens = await signed_in(client, runtime)
    header, payload, signature = tokens["access_token"].split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    forged = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    assert_envelope(await client.get("/api/me", headers=bearer(forged)), 401, "invalid_token")


async def test_tampered_payload_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user_id, tokens = await signed_in(client, runtime)
    header, _, signature = tokens["access_token"].split(".")
    now = int(datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp())
    promoted = b64(
        {"iss": "admitone", "sub": str(user_id), "role": "owner", "typ": "access",
         "iat": now, "exp": now + 900}
    )  # fmt: skip
    forged = f"{header}.{promoted}.{signature}"
    assert_envelope(await client.get("/api/me", headers=bearer(forged)), 401, "invalid_token")


async def test_unsigned_alg_none_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user_id, _ = await signed_in(client, runtime)
    now = int(datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp())
    claims = {"iss": "admitone", "sub": str(user_id), "role": "customer", "typ": "access",
              "iat": now, "exp": now + 900}  # fmt: skip
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}."
        response = await client.get("/api/me", headers=bearer(token))
        assert_envelope(response, 401, "invalid_token")


async def test_token_signed_with_another_key_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    user_id, _ = await signed_in(client, runtime)
    foreign = issue_access_token(
        "another-secret-key-of-sufficient-length-42", user_id, "owner", clock.now(),
        timedelta(minutes=15),
    )  # fmt: skip
    assert_envelope(await client.get("/api/me", headers=bearer(foreign)), 401, "invalid_token")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_token_with_another_algorithm_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    user_id, _ = await signed_in(client, runtime)
    now = int(clock.now().timestamp())
    claims = {"iss": "admitone", "sub": str(user_id), "role": "owner", "typ": "access",
              "iat": now, "exp": now + 900}  # fmt: skip
    hs512 = jwt.encode(claims, TEST_SECRET, algorithm="HS512")
    assert_envelope(await client.get("/api/me", headers=bearer(hs512)), 401, "invalid_token")


async def test_garbage_token_on_a_public_route_is_refused_not_ignored(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/auth/logout", json={"refresh_token": "x" * 40}, headers=bearer("not.a.jwt")
    )
    assert_envelope(response, 401, "invalid_token")


def test_token_is_judged_by_the_injected_clock_even_far_in_the_future() -> None:
    future = datetime(2040, 1, 1, tzinfo=UTC)
    user_id = uuid.uuid4()
    token = issue_access_token(TEST_SECRET, user_id, "customer", future, timedelta(minutes=15))
    assert decode_access_token(TEST_SECRET, token, future).user_id == user_id
    with pytest.raises(InvalidToken):
        decode_access_token(TEST_SECRET, token, future + timedelta(minutes=15))


async def test_token_of_a_deleted_account_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    ghost = issue_access_token(
        TEST_SECRET, uuid.uuid4(), "owner", clock.now(), timedelta(minutes=15)
    )
    assert_envelope(await client.get("/api/me", headers=bearer(ghost)), 401, "invalid_token")


async def test_refresh_rotates_the_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, tokens = await signed_in(client, runtime)
    rotated = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    me = await client.get("/api/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200


async def test_reused_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, tokens = await signed_in(client, runtime)
    first = tokens["refresh_token"]
    second = (await client.post("/api/auth/refresh", json={"refresh_token": first})).json()
    third = (
        await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()

    replay = await client.post("/api/auth/refresh", json={"refresh_token": first})
    assert_envelope(replay, 401, "refresh_token_reused")

    newest = await client.post("/api/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert_envelope(newest, 401, "refresh_token_reused")


async def test_reuse_does_not_touch_another_login_of_the_same_user(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    laptop = await login(client, user.email)
    phone = await login(client, user.email)
    await client.post("/api/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    await client.post("/api/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    still = await client.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert still.status_code == 200, still.text


async def test_two_concurrent_refreshes_with_one_token_have_exactly_one_winner(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, tokens = await signed_in(client, runtime)
    body = {"refresh_token": tokens["refresh_token"]}
    responses = await asyncio.gather(
        client.post("/api/auth/refresh", json=body), client.post("/api/auth/refresh", json=body)
    )
    assert sorted(r.status_code for r in responses) == [200, 401]
    loser = next(r for r in responses if r.status_code == 401)
    assert loser.json()["error"] == "refresh_token_reused"


async def test_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, settings: Settings
) -> None:
    _, tokens = await signed_in(client, runtime)
    clock.advance(days=settings.refresh_token_days, seconds=1)
    response = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_envelope(response, 401, "invalid_token")


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": "x" * 43})
    assert_envelope(response, 401, "invalid_token")


async def test_logout_revokes_the_refresh_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, tokens = await signed_in(client, runtime)
    out = await client.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    after = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["error"] in {"invalid_token", "refresh_token_reused"}


async def test_logout_of_an_unknown_token_says_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/logout", json={"refresh_token": "y" * 43})
    assert response.status_code == 204


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, tokens = await signed_in(client, runtime)
    async with runtime.unit_of_work(readonly=True) as uow:
        stored = (await uow.session.scalars(select(RefreshToken.token_hash))).all()
    assert stored
    assert tokens["refresh_token"] not in stored
