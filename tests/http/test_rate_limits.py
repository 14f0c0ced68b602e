"""Rate limits: headers on every response, 429 with Retry-After, budgets per client, per
account and per IP on sign-in, the named strict limit, and one budget across processes.

The budgets here are per hour: the limiter counts on the wall clock, and a test that straddled
the end of a minute (a slow machine, parallel workers) would see part of its count fall away."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from limits.aio.storage import MemoryStorage, RedisStorage

from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.http.deps import strict_rate_limit
from admitone.http.ratelimit import RateLimiter
from admitone.http.routing import api_router
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, create_user, make_client, started
from tests.support.envelope import assert_envelope


@asynccontextmanager
async def app_with(settings: Settings, clock: FrozenClock, **update: Any) -> AsyncIterator[FastAPI]:
    """A second app over its own runtime, with some settings changed."""
    async with started(Runtime.build(settings.model_copy(update=update), clock)) as runtime:
        app = create_app(runtime)
        async with app.router.lifespan_context(app):
            yield app


def add_strict_route(app: FastAPI) -> None:
    router = api_router()

    @router.post("/test-only/costly", dependencies=[Depends(strict_rate_limit)])
    async def costly() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(router)


async def test_responses_carry_rate_limit_headers(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/me")
    second = await client.get("/api/me")
    assert first.headers["X-RateLimit-Limit"] == "100"
    assert int(first.headers["X-RateLimit-Remaining"]) == 99
    assert int(second.headers["X-RateLimit-Remaining"]) == 98
    assert int(first.headers["X-RateLimit-Reset"]) > 0


async def test_exceeding_the_general_limit_is_a_429_with_retry_after(
    settings: Settings, clock: FrozenClock
) -> None:
    async with (
        app_with(settings, clock, rate_limit_default="5/hour") as app,
        make_client(app) as client,
    ):
        for _ in range(5):
            assert (await client.get("/api/me")).status_code == 401
        refused = await client.get("/api/me")
        body = assert_envelope(refused, 429, "rate_limited")
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 3600
        assert body["details"]["retry_after"] == retry_after
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        # Probes keep working while the client is throttled.
        assert (await client.get("/api/health")).status_code == 200


async def test_each_client_ip_has_its_own_budget(settings: Settings, clock: FrozenClock) -> None:
    async with (
        app_with(settings, clock, rate_limit_default="3/hour") as app,
        make_client(app, ip="198.51.100.1") as one,
        make_client(app, ip="198.51.100.2") as two,
    ):
        for _ in range(3):
            await one.get("/api/me")
        assert (await one.get("/api/me")).status_code == 429
        assert (await two.get("/api/me")).status_code == 401


async def test_sign_in_is_limited_per_account_across_ips(
    settings: Settings, clock: FrozenClock
) -> None:
    async with app_with(settings, clock, rate_limit_login_per_account="3/hour") as app:
        user = await create_user(app.state.runtime)
        for attempt in range(3):
            async with make_client(app, ip=f"198.51.100.{attempt + 10}") as client:
                response = await client.post(
                    "/api/auth/login", json={"email": user.email, "password": "wrong password!"}
                )
                assert response.status_code == 401
        async with make_client(app, ip="198.51.100.99") as client:
            # Even the right password from a fresh IP waits: the account is being guessed at.
            refused = await client.post(
                "/api/auth/login", json={"email": user.email.upper(), "password": PASSWORD}
            )
            assert_envelope(refused, 429, "rate_limited")
            assert "Retry-After" in refused.headers
            other = await create_user(app.state.runtime)
            ok = await client.post(
                "/api/auth/login", json={"email": other.email, "password": PASSWORD}
            )
            assert ok.status_code == 200


async def test_sign_in_is_limited_per_ip_across_accounts(
    settings: Settings, clock: FrozenClock
) -> None:
    async with (
        app_with(settings, clock, rate_limit_login_per_ip="3/hour") as app,
        make_client(app, ip="198.51.100.7") as client,
    ):
        for _ in range(3):
            response = await client.post(
                "/api/auth/login",
                json={"email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD},
            )
            assert response.status_code == 401
        refused = await client.post(
            "/api/auth/login", json={"email": "someone@example.com", "password": PASSWORD}
        )
        assert_envelope(refused, 429, "rate_limited")
        async with make_client(app, ip="198.51.100.8") as elsewhere:
            response = await elsewhere.post(
                "/api/auth/login", json={"email": "someone@example.com", "password": PASSWORD}
            )
            assert response.status_code == 401


async def test_the_strict_named_limit_refuses_past_its_budget(
    settings: Settings, clock: FrozenClock
) -> None:
    async with app_with(settings, clock, rate_limit_strict="2/hour") as app:
        add_strict_route(app)
        async with make_client(app) as client:
            user = await create_user(app.state.runtime)
            login = await client.post(
                "/api/auth/login", json={"email": user.email, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            first = await client.post("/api/test-only/costly", headers=headers)
            assert first.status_code == 200, first.text
            # The tightest budget is the one reported.
            assert first.headers["X-RateLimit-Limit"] == "2"
            assert first.headers["X-RateLimit-Remaining"] == "1"
            assert (await client.post("/api/test-only/costly", headers=headers)).status_code == 200
            refused = await client.post("/api/test-only/costly", headers=headers)
            assert_envelope(refused, 429, "rate_limited")
            assert int(refused.headers["Retry-After"]) >= 1
            # The general budget is untouched by the strict one.
            assert (await client.get("/api/me", headers=headers)).status_code == 200


async def test_memory_storage_without_redis(runtime: Runtime, app: FastAPI) -> None:
    assert isinstance(app.state.limiter.storage, MemoryStorage)


async def test_redis_storage_when_redis_is_configured(
    settings: Settings, clock: FrozenClock, redis_url: str
) -> None:
    async with app_with(settings, clock, redis_url=redis_url) as app:
        assert isinstance(app.state.limiter.storage, RedisStorage)
        async with make_client(app) as client:
            first = await client.get("/api/me")
            second = await client.get("/api/me")
        assert int(second.headers["X-RateLimit-Remaining"]) == (
            int(first.headers["X-RateLimit-Remaining"]) - 1
        )


async def test_two_app_instances_sharing_redis_share_one_budget(
    settings: Settings, clock: FrozenClock, redis_url: str
) -> None:
    shared = f"admitone-test-shared-{uuid.uuid4().hex[:8]}"
    limits = {"redis_url": redis_url, "rate_limit_default": "6/hour"}
    async with (
        app_with(settings, clock, rate_limit_key_prefix=shared, **limits) as first,
        app_with(settings, clock, rate_limit_key_prefix=shared, **limits) as second,
        app_with(settings, clock, rate_limit_key_prefix=shared + "-other", **limits) as third,
    ):
        assert first.state.runtime is not second.state.runtime
        async with make_client(first) as a, make_client(second) as b, make_client(third) as c:
            for _ in range(3):
                assert (await a.get("/api/me")).status_code == 401
                assert (await b.get("/api/me")).status_code == 401
            assert_envelope(await a.get("/api/me"), 429, "rate_limited")
            assert_envelope(await b.get("/api/me"), 429, "rate_limited")
            # Another key prefix (another deployment on the same Redis) has its own budget.
            assert (await c.get("/api/me")).status_code == 401
        await first.state.limiter.reset()
        await third.state.limiter.reset()


async def test_a_dead_rate_limit_store_lets_requests_through_quickly(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RateLimiter(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    assert (await limiter.hit(limiter.default, "default", "ip:198.51.100.1")).allowed
    # Once the store has failed, it is left alone for a while instead of waited on each time.
    store_calls = 0
    store_hit = limiter._strategy.hit

    async def counted_hit(*args: Any) -> bool:
        nonlocal store_calls
        store_calls += 1
        return await store_hit(*args)

    monkeypatch.setattr(limiter._strategy, "hit", counted_hit)
    for _ in range(3):
        verdict = await limiter.hit(limiter.default, "default", "ip:198.51.100.1")
        assert verdict.allowed
    assert store_calls == 0


async def test_rate_limits_can_be_switched_off(settings: Settings, clock: FrozenClock) -> None:
    async with (
        app_with(settings, clock, rate_limits_enabled=False, rate_limit_default="1/hour") as app,
        make_client(app) as client,
    ):
        for _ in range(3):
            assert (await client.get("/api/me")).status_code == 401
