"""Opening requests and commenting share one budget per user (per address for a guest)."""

from __future__ import annotations

import httpx
import pytest

from admitone.config import Settings
from tests.support_desk.conftest import REQUESTS, Desk

BODY = {"subject": "Hello", "body": "Help"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A sliding window weighs the last one by how much of it is left: a day keeps the test
    # clear of a window's turn, which a minute's would cross now and then.
    return settings.model_copy(update={"rate_limit_support": "3/day"})


async def test_opening_requests_and_commenting_is_limited_per_user(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    first = await client.post(REQUESTS, json=BODY, headers=desk.customer.headers)
    assert first.status_code == 201
    url = f"{REQUESTS}/{first.json()['id']}/comments"
    for _ in range(2):
        assert (
            await client.post(url, json={"body": "Any news?"}, headers=desk.customer.headers)
        ).status_code == 201
    for refused in (
        await client.post(REQUESTS, json=BODY, headers=desk.customer.headers),
        await client.post(url, json={"body": "Hello?"}, headers=desk.customer.headers),
    ):
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
    # Another user from the same address has a budget of their own.
    other = await client.post(REQUESTS, json=BODY, headers=desk.stranger.headers)
    assert other.status_code == 201
    # Reading is not limited by it.
    assert (await client.get(REQUESTS, headers=desk.customer.headers)).status_code == 200
