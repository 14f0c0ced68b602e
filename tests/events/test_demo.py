from __future__ import annotations

import httpx

from admitone.demo import seed_if_empty
from admitone.runtime import Runtime


async def test_the_demo_seed_creates_a_published_event_with_two_tiers(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert await seed_if_empty(runtime) is True

    [event] = (await client.get("/api/events")).json()["data"]
    assert event["status"] == "published"
    assert event["starts_at"] > "2026-07-01"
    assert [(t["name"], t["price"], t["capacity"]) for t in event["tiers"]] == [
        ("General admission", "50.00", 200),
        ("VIP", "150.00", 20),
    ]
    assert await seed_if_empty(runtime) is False
