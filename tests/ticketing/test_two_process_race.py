"""200 buyers racing for the last 10 tickets across two real app processes that share one
PostgreSQL database: only the database's atomic counters stand between them and an oversale."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from admitone.accounts.models import Role
from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.events.schemas import EventCreate, TierCreate
from admitone.runtime import Runtime
from admitone.ticketing.models import Order, Ticket
from tests.conftest import TEST_SECRET, create_user
from tests.support.app_process import two_app_processes
from tests.support.reads import counters
from tests.ticketing.conftest import order_body

BUYERS = 200
EVENT_CAP = 10
TIER_CAPACITY = 6  # two tiers of 6 under an event cap of 10: both kinds of cap are contested
STARTUP_SECONDS = 60.0  # two interpreters importing the app on a loaded 2-core machine
RACE_SECONDS = 60.0
REQUEST_SECONDS = 30.0

pytestmark = pytest.mark.timeout(STARTUP_SECONDS + RACE_SECONDS + 60)


def app_settings(database_url: str) -> dict[str, str]:
    return {
        "ADMITONE_ENV": "test",
        "ADMITONE_SECRET_KEY": TEST_SECRET,
        "ADMITONE_DATABASE_URL": database_url,
        "ADMITONE_RUN_WORKER_IN_PROCESS": "false",
        "ADMITONE_AUTO_MIGRATE": "false",
        "ADMITONE_RATE_LIMIT_DEFAULT": "100000/minute",
        "ADMITONE_RATE_LIMIT_STRICT": "100000/minute",
        "ADMITONE_FAKE_GATEWAY_LATENCY_MS": "0",
        "ADMITONE_EMAIL_BACKEND": "memory",
        "ADMITONE_LOG_LEVEL": "WARNING",
        # Two processes plus the test stay well inside PostgreSQL's 100 connections, which
        # other test runs on this machine share.
        "ADMITONE_DATABASE_POOL_SIZE": "8",
        "ADMITONE_DATABASE_MAX_OVERFLOW": "4",
    }


async def make_hot_event(runtime: Runtime) -> tuple[uuid.UUID, list[uuid.UUID]]:
    organizer = await create_user(runtime, Role.ORGANIZER)
    actor = Actor(organizer.id, organizer.role)
    data = EventCreate(
        name="Last tickets",
        venue="Arena",
        date=runtime.clock.now() + timedelta(days=60),
        max_attendees=EVENT_CAP,
        tiers=[TierCreate(name=name, price="25.00", capacity=TIER_CAPACITY) for name in ("A", "B")],
    )
    async with runtime.unit_of_work() as uow:
        detail = await events_service.create_event(uow, actor, data)
        await events_service.publish_event(uow, actor, detail.event.id)
    tiers = sorted(detail.tiers, key=lambda t: t.position)
    return detail.event.id, [t.id for t in tiers]


async def test_200_buyers_on_two_app_processes_race_for_the_last_10_tickets(
    pg_runtime: Runtime, postgres_url: str, tmp_path: Path
) -> None:
    runtime = pg_runtime
    event_id, tier_ids = await make_hot_event(runtime)
    limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
    async with two_app_processes(app_settings(postgres_url), tmp_path, within=STARTUP_SECONDS) as (
        process_a,
        process_b,
    ):
        async with (
            httpx.AsyncClient(base_url=process_a.url, timeout=REQUEST_SECONDS, limits=limits) as a,
            httpx.AsyncClient(base_url=process_b.url, timeout=REQUEST_SECONDS, limits=limits) as b,
        ):

            async def one_buyer(n: int) -> httpx.Response:
                client = (a, b)[n % 2]  # every other buyer goes through the other process
                body = order_body(
                    items=[(tier_ids[(n // 2) % 2], 1)],
                    email=f"buyer{n}@example.com",
                    key=f"race-{n}",
                )
                return await client.post(f"/api/events/{event_id}/purchase", json=body)

            responses = await asyncio.wait_for(
                asyncio.gather(*(one_buyer(n) for n in range(BUYERS))), RACE_SECONDS
            )
        logs = process_a.output() + process_b.output()

    codes = Counter(r.status_code for r in responses)
    assert codes == Counter({201: EVENT_CAP, 409: BUYERS - EVENT_CAP}), (codes, logs)
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"sold_out"}
    assert all(r.json()["status"] == "paid" for r in responses if r.status_code == 201)

    # The database after the rush. The CHECK constraints (taken <= capacity) would have refused
    # any moment above a cap, so the final counters are the whole story.
    taken = await counters(runtime, event_id)
    assert taken.event == EVENT_CAP
    assert all(t <= TIER_CAPACITY for t in taken.tiers.values())
    assert sum(taken.tiers.values()) == EVENT_CAP
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.execute(
            select(Order.status, func.count())
            .where(Order.event_id == event_id)
            .group_by(Order.status)
        )
        statuses = {status: count for status, count in rows}
        valid_tickets = await uow.session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.event_id == event_id, Ticket.status == "valid")
        )
    assert statuses == {"paid": EVENT_CAP}
    assert valid_tickets == EVENT_CAP
