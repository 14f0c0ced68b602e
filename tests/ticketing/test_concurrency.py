"""Races, with real concurrency: many requests through the ASGI app at once, many connections."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS, create_user, make_client
from tests.support.reads import counters
from tests.ticketing.conftest import buy, make_event, order_body, orders_of

BUYERS = 200


async def test_racing_replays_of_one_request_make_one_order_and_one_charge(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    body = order_body(2, key="double-click")

    responses = await asyncio.gather(*(buy(client, event.id, body) for _ in range(6)))

    assert Counter(r.status_code for r in responses) == Counter({201: 1, 200: 5})
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await orders_of(runtime, event.id)) == 1
    assert len(gateway.charges) == 1
    assert (await counters(runtime, event.id)).event == 2


@pytest.fixture
def pg_settings(pg_settings: Settings) -> Settings:
    # Every buyer has a connection of its own, and all of them come from one client address.
    return pg_settings.model_copy(
        update={
            "database_pool_size": 20,
            "database_max_overflow": 30,
            **RELAXED_RATE_LIMITS,
        }
    )


@pytest.fixture
def pg_clock(clock: FrozenClock) -> FrozenClock:
    # The app under test runs in this process, so the event's date can stay fixed.
    return clock


async def test_200_buyers_racing_for_the_last_10_tickets_on_postgresql(
    pg_runtime: Runtime,
) -> None:
    """Two tiers of 6 under an event cap of 10: exactly 10 sold, every other buyer told
    sold out, and no counter ever above its cap (the CHECK constraints would refuse it)."""
    runtime = pg_runtime
    organizer = await create_user(runtime, Role.ORGANIZER)
    event = await make_event(
        runtime, organizer, tiers=[("A", "25.00", 6), ("B", "25.00", 6)], max_attendees=10
    )
    app = create_app(runtime)
    async with app.router.lifespan_context(app), make_client(app) as client:

        async def one_buyer(n: int) -> httpx.Response:
            tier = event.tier_ids[n % 2]
            body = order_body(items=[(tier, 1)], email=f"buyer{n}@example.com")
            return await buy(client, event.id, body)

        responses = await asyncio.gather(*(one_buyer(n) for n in range(BUYERS)))

    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: 10, 409: BUYERS - 10}), codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"sold_out"}
    taken = await counters(runtime, event.id)
    assert taken.event == 10
    assert all(t <= 6 for t in taken.tiers.values()) and sum(taken.tiers.values()) == 10
    paid = [o for o in await orders_of(runtime, event.id) if o.status == "paid"]
    assert len(paid) == 10
    assert isinstance(runtime.gateway, FakeGateway)
    assert len(runtime.gateway.succeeded_charges()) == 10
