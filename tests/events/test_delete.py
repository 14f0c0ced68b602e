from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.core.clock import FrozenClock
from admitone.core.db import UnitOfWork
from admitone.events import deletion, service
from admitone.events.models import Event
from admitone.jobs.models import JobState
from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.events.conftest import published_event
from tests.support.reads import jobs_of
from tests.support.users import Signed

SEED_MESSAGE = "This event can't be deleted because it already has customer orders."


class FakeOrders:
    """Stands in for the ticketing domain's order checker: unit prices of lines per event."""

    def __init__(self) -> None:
        self.unit_prices: dict[uuid.UUID, list[int]] = {}

    async def __call__(self, uow: UnitOfWork, event_id: uuid.UUID) -> bool:
        return any(price > 0 for price in self.unit_prices.get(event_id, []))


@pytest.fixture
def orders() -> FakeOrders:
    fake = FakeOrders()
    service.register_order_checker(fake)
    return fake


async def stored_event(runtime: Runtime, event_id: str) -> Event:
    async with runtime.unit_of_work(readonly=True) as uow:
        event = await uow.session.get(Event, uuid.UUID(event_id))
        assert event is not None
        return event


async def test_an_event_with_a_paid_order_cannot_be_deleted(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime, orders: FakeOrders
) -> None:
    event = await published_event(client, organizer)
    orders.unit_prices[uuid.UUID(event["id"])] = [0, 5000]

    response = await client.delete(f"/api/events/{event['id']}", headers=organizer.headers)

    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "event_has_orders",
        "message": SEED_MESSAGE,
        "details": {},
    }
    assert (await stored_event(runtime, event["id"])).deleted_at is None
    assert await jobs_of(runtime, deletion.AFTER_DELETE_JOB) == []
    check = await client.get(
        f"/api/events/{event['id']}/has-existing-orders", headers=organizer.headers
    )
    assert check.json() == {"has_existing_orders": True}


async def test_free_orders_do_not_block_deletion(
    client: httpx.AsyncClient,
    organizer: Signed,
    runtime: Runtime,
    orders: FakeOrders,
    clock: FrozenClock,
) -> None:
    event = await published_event(client, organizer, ticket_price="0.00")
    orders.unit_prices[uuid.UUID(event["id"])] = [0, 0]
    url = f"/api/events/{event['id']}"

    check = await client.get(f"{url}/has-existing-orders", headers=organizer.headers)
    assert check.json() == {"has_existing_orders": False}
    response = await client.delete(url, headers=organizer.headers)

    assert response.status_code == 200
    assert response.json() == "ok"
    assert (await stored_event(runtime, event["id"])).deleted_at == clock.now()
    assert (await client.get(url, headers=organizer.headers)).status_code == 404
    assert (await client.get(f"{url}/availability")).status_code == 404
    assert event["id"] not in [e["id"] for e in (await client.get("/api/events")).json()["data"]]
    again = await client.delete(url, headers=organizer.headers)
    assert again.status_code == 404


async def test_only_the_organizer_or_the_platform_owner_may_delete(
    client: httpx.AsyncClient,
    organizer: Signed,
    *,
    other_organizer: Signed,
    customer: Signed,
    admin: Signed,
    owner: Signed,
) -> None:
    event = await published_event(client, organizer)
    url = f"/api/events/{event['id']}"

    for who in (other_organizer, customer, admin):
        refused = await client.delete(url, headers=who.headers)
        assert refused.status_code == 404
        assert refused.json()["error"] == "event_not_found"
        assert refused.json()["message"] == f"Resource Event with id {event['id']} not found"
        check = await client.get(f"{url}/has-existing-orders", headers=who.headers)
        assert check.status_code == 404
    assert (await client.delete(url)).status_code == 401
    assert (await client.get(url)).status_code == 200

    assert (await client.delete(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url)).status_code == 404


async def test_the_after_delete_job_runs_its_hooks_with_retries_and_announces_the_deletion(
    client: httpx.AsyncClient,
    organizer: Signed,
    runtime: Runtime,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = await published_event(client, organizer)
    calls: list[uuid.UUID] = []

    @service.register_after_delete
    async def flaky_cleanup(uow: UnitOfWork, event_id: uuid.UUID) -> None:
        calls.append(event_id)
        if len(calls) == 1:
            raise ConnectionError("a downstream system is briefly unavailable")

    sent: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, message: dict[str, Any]) -> None:
        sent.append((topic, message))

    monkeypatch.setattr(runtime.bus, "publish", record)
    assert (
        await client.delete(f"/api/events/{event['id']}", headers=organizer.headers)
    ).status_code == 200

    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert (job.args, job.max_attempts, job.queue) == ({"event_id": event["id"]}, 3, "default")
    assert await drain(runtime) == 1
    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert job.state == JobState.RETRYABLE
    assert sent == []

    clock.advance(timedelta(seconds=1))  # the first backoff is between 0.5 s and 1 s
    assert await drain(runtime) == 1
    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert job.state == JobState.COMPLETED
    assert calls == [uuid.UUID(event["id"])] * 2
    assert [(t, m["type"]) for t, m in sent] == [
        (f"events:{event['id']}:availability", "event_deleted")
    ]


async def test_deletion_is_recorded_in_the_activity_log(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(client, organizer)
    await client.delete(f"/api/events/{event['id']}", headers=organizer.headers)
    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(
            await uow.session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.resource_uuid == uuid.UUID(event["id"]))
                .order_by(ActivityEntry.created_at, ActivityEntry.action)
            )
        )
    actions = {e.action for e in entries}
    assert {"events.event_created", "events.event_published", "events.event_deleted"} <= actions
    deleted = next(e for e in entries if e.action == "events.event_deleted")
    assert (deleted.actor_uuid, deleted.mode) == (organizer.user.id, "manual")
