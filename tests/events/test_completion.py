from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.core.clock import FrozenClock
from admitone.events.jobs import COMPLETE_PAST_EVENTS_JOB
from admitone.jobs.cron import CronScheduler
from admitone.jobs.registry import cron_entries
from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.conftest import login
from tests.events.conftest import create_event, published_event
from tests.support.users import Signed


async def status_of(client: httpx.AsyncClient, who: Signed, event: dict[str, str]) -> str:
    response = await client.get(f"/api/events/{event['id']}", headers=who.headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_the_midnight_job_completes_only_past_published_events(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime, clock: FrozenClock
) -> None:
    [entry] = [e for e in cron_entries() if e.kind == COMPLETE_PAST_EVENTS_JOB]
    assert entry.schedule == "0 0 * * *"
    scheduler = CronScheduler(runtime, [entry])
    await scheduler.tick()  # a new entry starts at its current slot without running it

    started = await published_event(client, organizer, date="2026-06-02T18:00:00Z")
    still_running = await published_event(
        client, organizer, date="2026-06-02T20:00:00Z", ends_at="2026-06-04T02:00:00Z"
    )
    ended = await published_event(
        client, organizer, date="2026-06-02T09:00:00Z", ends_at="2026-06-02T17:00:00Z"
    )
    future = await published_event(client, organizer, date="2026-07-15T18:00:00Z")
    draft = await create_event(client, organizer, date="2026-06-02T18:00:00Z")

    clock.set(datetime(2026, 6, 3, 0, 0, 5, tzinfo=UTC))
    tokens = await login(client, organizer.user.email)  # the old access token has expired
    organizer.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert await scheduler.tick() == 1
    assert await drain(runtime) == 1

    statuses = [
        await status_of(client, organizer, e)
        for e in (started, still_running, ended, future, draft)
    ]
    assert statuses == ["completed", "published", "completed", "published", "draft"]
    async with runtime.unit_of_work(readonly=True) as uow:
        completed = list(
            await uow.session.scalars(
                select(ActivityEntry).where(ActivityEntry.action == "events.event_completed")
            )
        )
    assert {e.resource_uuid for e in completed} == {
        uuid.UUID(started["id"]),
        uuid.UUID(ended["id"]),
    }
    assert {e.mode for e in completed} == {"auto"}

    assert await drain(runtime) == 0  # the slot ran once
    completed_event = await client.put(
        f"/api/events/{started['id']}", json={"event": {"name": "Again"}}, headers=organizer.headers
    )
    assert (completed_event.status_code, completed_event.json()["error"]) == (
        409,
        "event_not_editable",
    )
