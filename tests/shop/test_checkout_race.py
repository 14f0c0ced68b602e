"""Checkout races on PostgreSQL, with real concurrency: many buyers, many connections."""

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
from tests.conftest import RELAXED_RATE_LIMITS, make_client
from tests.shop.conftest import add, guest_cart, make_event, shirt
from tests.shop.test_checkout import RED_M, checkout_url, stock
from tests.support.reads import counters
from tests.support.users import sign_in

BUYERS = 100
LAST_UNITS = 5


@pytest.fixture
def pg_settings(pg_settings: Settings) -> Settings:
    return pg_settings.model_copy(
        update={"database_pool_size": 20, "database_max_overflow": 30, **RELAXED_RATE_LIMITS}
    )


@pytest.fixture
def pg_clock(clock: FrozenClock) -> FrozenClock:
    return clock


async def test_100_buyers_racing_for_the_last_5_units_of_one_option_combination_buy_exactly_5(
    pg_runtime: Runtime,
) -> None:
    runtime = pg_runtime
    app = create_app(runtime)
    async with app.router.lifespan_context(app), make_client(app) as client:
        organizer = await sign_in(client, runtime, Role.ORGANIZER)
        event_id, tier_ids = await make_event(runtime, organizer.user)
        stock_by_options = [
            {"options": RED_M, "quantity": LAST_UNITS},
            {"options": {"size": "S", "colour": "blue"}, "quantity": 50},
        ]
        product = await shirt(
            client, organizer, event_id=str(event_id), stock_by_options=stock_by_options
        )

        async def cart(n: int) -> tuple[str, dict[str, str]]:
            cart_id, token = await guest_cart(client)
            await add(client, cart_id, token, tier_id=str(tier_ids[0]), quantity=1)
            await add(client, cart_id, token, product_id=product["id"], quantity=1, options=RED_M)
            return cart_id, token

        carts = [await cart(n) for n in range(BUYERS)]

        async def checkout(n: int) -> httpx.Response:
            cart_id, token = carts[n]
            body = {"order": {"customer_email": f"buyer{n}@example.com", "customer_name": "B"}}
            return await client.post(checkout_url(cart_id), json=body, headers=token)

        responses = await asyncio.gather(*(checkout(n) for n in range(BUYERS)))

    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: LAST_UNITS, 409: BUYERS - LAST_UNITS}), codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"insufficient_stock"}
    assert await stock(runtime, product["id"], RED_M) == 0
    assert await stock(runtime, product["id"], {"size": "S", "colour": "blue"}) == 50
    # The refused checkouts took no seats either.
    assert (await counters(runtime, event_id)).event == LAST_UNITS


async def test_100_purchases_carrying_the_last_5_units_in_group_commits_sell_exactly_5(
    pg_runtime: Runtime,
) -> None:
    """The purchase body's product lines ride in the batches: a batch whose stock falls short
    is placed again one purchase at a time, and the shortfall is each refused buyer's own."""
    runtime = pg_runtime
    app = create_app(runtime)
    async with app.router.lifespan_context(app), make_client(app) as client:
        organizer = await sign_in(client, runtime, Role.ORGANIZER)
        event_id, tier_ids = await make_event(runtime, organizer.user)
        product = await shirt(
            client,
            organizer,
            event_id=str(event_id),
            stock_by_options=[{"options": RED_M, "quantity": LAST_UNITS}],
        )

        async def purchase(n: int) -> httpx.Response:
            order = {
                "customer_email": f"buyer{n}@example.com",
                "customer_name": "B",
                "items": [{"tier_id": str(tier_ids[0]), "quantity": 1}],
                "products": [{"product_id": product["id"], "quantity": 1, "options": RED_M}],
            }
            return await client.post(f"/api/events/{event_id}/purchase", json={"order": order})

        responses = await asyncio.gather(*(purchase(n) for n in range(BUYERS)))

    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: LAST_UNITS, 409: BUYERS - LAST_UNITS}), codes
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {body["error"] for body in refusals} == {"insufficient_stock"}
    assert {body["details"]["field"] for body in refusals} == {"order.products.0"}
    assert await stock(runtime, product["id"], RED_M) == 0
    assert (await counters(runtime, event_id)).event == LAST_UNITS
