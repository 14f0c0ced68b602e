"""Registration costs an argon2 hash: it is under the strict rate limit, and a burst of
sign-ups hashes a bounded number of passwords at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from admitone.core import security
from admitone.runtime import Runtime
from tests.accounts.test_bad_input import register_body, user_count
from tests.support.envelope import assert_envelope


async def test_registration_is_under_the_strict_limit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    strict = int(runtime.settings.rate_limit_strict.split("/")[0])
    for n in range(strict):
        response = await client.post(
            "/api/auth/register", json=register_body(email=f"burst-{n}@example.com")
        )
        assert response.status_code == 201, response.text
    refused = await client.post(
        "/api/auth/register", json=register_body(email="one-too-many@example.com")
    )
    assert_envelope(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert await user_count(runtime) == strict


class GatedHasher:
    """Stands in for argon2: counts the hashes running at once and holds each one until the
    gate opens."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.reached: dict[int, threading.Event] = {n: threading.Event() for n in range(1, 8)}
        self.gate = threading.Event()

    def hash(self, password: str) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.reached[self.running].set()
        try:
            assert self.gate.wait(timeout=30)
            return self.real.hash(password)  # type: ignore[attr-defined, no-any-return]
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def gated_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedHasher]:
    hasher = GatedHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", hasher)
    yield hasher
    hasher.gate.set()


async def test_a_burst_of_registrations_hashes_at_most_the_limit_at_once(
    client: httpx.AsyncClient, runtime: Runtime, gated_hasher: GatedHasher
) -> None:
    limit = runtime.settings.password_hashing_concurrency
    assert limit == 2
    burst = [
        asyncio.create_task(
            client.post("/api/auth/register", json=register_body(email=f"rush-{n}@example.com"))
        )
        for n in range(6)
    ]
    assert await asyncio.to_thread(gated_hasher.reached[limit].wait, 10)
    # The other four have had every chance to start hashing; none may.
    assert not await asyncio.to_thread(gated_hasher.reached[limit + 1].wait, 0.5)
    gated_hasher.gate.set()
    responses = await asyncio.gather(*burst)
    assert [r.status_code for r in responses] == [201] * 6
    assert gated_hasher.most == limit
