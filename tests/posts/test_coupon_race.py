"""Racing purchases on a limited coupon, with real concurrency on PostgreSQL: each buyer has a
connection of its own, and the coupon's conditional counter update decides."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS, create_user, login, make_client
from tests.posts.conftest import buy, purchase_body, redemptions, stored_coupon
from tests.support.reads import counters
from tests.ticketing.conftest import make_event, orders_of

BUYERS = 50
LIMIT = 10


@pytest.fixture
def pg_settings(pg_settings: Settings) -> Settings:
    return pg_settings.model_copy(
        update={
            "database_pool_size": 20,
            "database_max_overflow": 30,
            "fake_gateway_latency_ms": 0.0,
            **RELAXED_RATE_LIMITS,
        }
    )


@pytest.fixture
def pg_clock(clock: FrozenClock) -> FrozenClock:
    return clock


async def test_50_buyers_racing_for_a_coupon_limited_to_10_redeem_exactly_10_on_postgresql(
    pg_runtime: Runtime,
) -> None:
    runtime = pg_runtime
    organizer = await create_user(runtime, Role.ORGANIZER)
    event = await make_event(runtime, organizer, tiers=[("A", "40.00", 500)])
    app = create_app(runtime)
    async with app.router.lifespan_context(app), make_client(app) as client:
        tokens = await login(client, organizer.email)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        made = await client.post(
            "/api/coupons",
            json={"code": "RUSH", "kind": "percent", "percent_off": "25", "usage_limit": LIMIT},
            headers=headers,
        )
        assert made.status_code == 201, made.text
        coupon_id = made.json()["id"]

        async def one_buyer(n: int) -> httpx.Response:
            body = purchase_body(
                [(event.tier_ids[0], 1)], coupon="rush", email=f"buyer{n}@example.com"
            )
            return await buy(client, event.id, body)

        responses = await asyncio.gather(*(one_buyer(n) for n in range(BUYERS)))

    codes = Counter((r.status_code, r.json().get("error")) for r in responses)
    assert codes == Counter({(201, None): LIMIT, (409, "coupon_used_up"): BUYERS - LIMIT}), codes
    assert all(r.json()["total"] == "30.00" for r in responses if r.status_code == 201)
    assert (await stored_coupon(runtime, coupon_id)).uses == LIMIT
    assert len(await redemptions(runtime, coupon_id)) == LIMIT
    # A refused purchase left nothing: no order, no seat.
    assert len(await orders_of(runtime, event.id)) == LIMIT
    assert (await counters(runtime, event.id)).event == LIMIT
