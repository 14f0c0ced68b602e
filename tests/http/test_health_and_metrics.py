"""Health for load balancers (503 when a dependency is down) and Prometheus metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import make_client
from tests.support.envelope import assert_envelope


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def unstarted_app(
    settings: Settings, clock: FrozenClock, **update: Any
) -> AsyncIterator[FastAPI]:
    """An app whose lifespan is not run: its dependencies may be down from the start."""
    runtime = Runtime.build(settings.model_copy(update=update), clock)
    try:
        yield create_app(runtime)
    finally:
        await runtime.close()


async def test_health_is_ok_without_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not_configured"},
    }


async def test_health_checks_redis_when_configured(
    settings: Settings, clock: FrozenClock, redis_url: str
) -> None:
    async with (
        unstarted_app(settings, clock, redis_url=redis_url) as app,
        make_client(app) as client,
    ):
        response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize(
    ("setting", "dead_url", "checks"),
    [
        ("redis_url", "redis://127.0.0.1:{port}/0", {"database": "ok", "redis": "unavailable"}),
        (
            "database_url",
            "postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing",
            {"database": "unavailable", "redis": "not_configured"},
        ),
    ],
)
async def test_health_is_503_when_a_dependency_is_unreachable(
    settings: Settings, clock: FrozenClock, setting: str, dead_url: str, checks: dict[str, str]
) -> None:
    update = {setting: dead_url.format(port=closed_port())}
    async with unstarted_app(settings, clock, **update) as app, make_client(app) as client:
        response = await client.get("/api/health")
    body = assert_envelope(response, 503, "service_unavailable")
    assert body["details"]["checks"] == checks


async def test_health_is_public_and_refuses_a_bad_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"Authorization": "Bearer nonsense"})
    assert_envelope(response, 401, "invalid_token")


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    missing = "9b2c4c1e-0f7e-4a52-8f0d-5d1c3c2b1a00"
    await client.put(f"/api/users/{missing}/role", json={"role": "admin"})
    await client.get("/api/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "admitone_http_requests_total" in text
    assert 'route="/api/users/{user_id}/role"' in text
    assert 'route="/api/health"' in text
    assert missing not in text
    assert "admitone_http_request_duration_seconds_bucket" in text
