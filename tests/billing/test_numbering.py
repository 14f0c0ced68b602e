"""Invoice numbers are gapless and sequential per organizer and year: a number is taken in the
issuing transaction, so racing issuers never share or skip one, and a rollback gives it back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.billing import invoices
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.billing.conftest import (
    BUYER_NAME,
    Shop,
    ask_invoice,
    buy,
)
from tests.conftest import RELAXED_RATE_LIMITS, create_user, make_client
from tests.ticketing.conftest import make_event

RACERS = 50


async def test_a_rolled_back_issue_does_not_burn_a_number(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    first = await buy(client, shop.event.id, shop.buyer.headers, quantity=1)
    second = await buy(client, shop.event.id, shop.buyer.headers, quantity=1)
    assert (await ask_invoice(client, first["id"], shop.buyer.headers)).json()["number"] == (
        "INV-2026-000001"
    )

    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            issued = await invoices.issue(uow, uuid.UUID(second["id"]), {"name": BUYER_NAME})
            assert issued.invoice.number == "INV-2026-000002"
            raise RuntimeError("what came after the issue failed: the transaction rolls back")

    retried = await ask_invoice(client, second["id"], shop.buyer.headers)
    assert (retried.status_code, retried.json()["number"]) == (201, "INV-2026-000002")


@pytest.fixture
def racing_settings(settings: Settings) -> Settings:
    # Enough connections for the racers to really overlap on the counter row (on PostgreSQL:
    # SQLite has one writer at a time, and the test holds there too).
    return settings.model_copy(
        update={
            **RELAXED_RATE_LIMITS,
            "fake_gateway_latency_ms": 0.0,
            "database_pool_size": 10,
            "database_max_overflow": 10,
        }
    )


@pytest.fixture
async def racing_app(
    racing_settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[Runtime, FastAPI]]:
    runtime = Runtime.build(racing_settings, clock)
    await runtime.start()
    try:
        app = create_app(runtime)
        async with app.router.lifespan_context(app):
            yield runtime, app
    finally:
        await runtime.close()


async def test_fifty_racing_paid_orders_are_numbered_one_to_fifty_without_gap_or_duplicate(
    racing_app: tuple[Runtime, FastAPI],
) -> None:
    runtime, app = racing_app
    organizer = await create_user(runtime, Role.ORGANIZER)
    event = await make_event(runtime, organizer, tiers=[("General", "10.00", RACERS)])
    async with make_client(app) as client:
        orders = await asyncio.gather(
            *(
                buy(client, event.id, quantity=1, email=f"racer{n}@example.com")
                for n in range(RACERS)
            )
        )
        responses = await asyncio.gather(
            *(ask_invoice(client, o["id"], token=o["access_token"]) for o in orders)
        )
        # And each asked again at the same time as the others: answered, never issued twice.
        again = await asyncio.gather(
            *(ask_invoice(client, o["id"], token=o["access_token"]) for o in orders)
        )

    assert [r.status_code for r in responses] == [201] * RACERS
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"INV-{runtime.clock.now().year}-{n:06d}" for n in range(1, RACERS + 1)]
    assert len({r.json()["order_id"] for r in responses}) == RACERS
    assert [r.status_code for r in again] == [200] * RACERS
    assert sorted(r.json()["number"] for r in again) == numbers
