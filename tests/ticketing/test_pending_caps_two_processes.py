"""The cap on one address's pending orders holds across two real app processes sharing Redis
and PostgreSQL: buyers rushing in through both get exactly the cap's worth of held orders."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from admitone.runtime import Runtime
from admitone.ticketing.models import Order
from tests.support.app_process import two_app_processes
from tests.support.reads import counters
from tests.ticketing.conftest import order_body
from tests.ticketing.test_two_process_race import STARTUP_SECONDS, app_settings, make_hot_event

CAP = 3
# No more buyers than the hot event has seats (10, five a tier): an order over the cap holds
# its seat until it is let go, and must not make another buyer's purchase sold out meanwhile.
BUYERS = 10
WAIT = 30.0

pytestmark = pytest.mark.timeout(STARTUP_SECONDS + 90)


async def test_an_address_holds_its_cap_of_pending_orders_across_two_processes(
    pg_runtime: Runtime, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    runtime = pg_runtime
    event_id, tier_ids = await make_hot_event(runtime)
    settings = {
        **app_settings(postgres_url),
        "ADMITONE_REDIS_URL": redis_url,
        "ADMITONE_RATE_LIMIT_KEY_PREFIX": f"admitone-test-{uuid.uuid4().hex[:8]}",
        "ADMITONE_MAX_PENDING_ORDERS_PER_ADDRESS": str(CAP),
        # Past its Redis timeout a process lets purchases through uncounted: on a busy machine
        # (parallel test workers) ten requests at once can keep the loop off the answer longer
        # than production's half second.
        "ADMITONE_REDIS_TIMEOUT_SECONDS": "20",
    }
    async with two_app_processes(settings, tmp_path, within=STARTUP_SECONDS) as (
        process_a,
        process_b,
    ):
        async with (
            httpx.AsyncClient(base_url=process_a.url, timeout=WAIT) as a,
            httpx.AsyncClient(base_url=process_b.url, timeout=WAIT) as b,
        ):

            async def one_buyer(n: int) -> httpx.Response:
                body = order_body(
                    items=[(tier_ids[n % 2], 1)],
                    email=f"made-up-{n}@example.com",
                    payment_method="pm_card_threeDSecure2Required",  # left pending
                )
                client = (a, b)[n % 2]  # one address, both processes
                return await client.post(f"/api/events/{event_id}/purchase", json=body)

            responses = await asyncio.gather(*(one_buyer(n) for n in range(BUYERS)))
        logs = process_a.output() + process_b.output()

    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: CAP, 429: BUYERS - CAP}), (codes, logs)
    assert {r.json()["error"] for r in responses if r.status_code == 429} == {
        "too_many_pending_orders"
    }
    async with runtime.unit_of_work(readonly=True) as uow:
        pending = await uow.session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.event_id == event_id, Order.status == "pending")
        )
    assert pending == CAP
    assert (await counters(runtime, event_id)).event == CAP  # only their seats are held
