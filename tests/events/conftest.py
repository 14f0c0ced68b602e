from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.events import deletion, service
from admitone.events import jobs as events_jobs  # noqa: F401 - registers the handlers
from admitone.runtime import Runtime
from tests.support.users import Signed, sign_in

SEED_BODY: dict[str, Any] = {
    "event": {
        "name": "Concert",
        "venue": "Stadium",
        "date": "2026-07-15T18:00:00Z",
        "ticket_price": "50.00",
        "total_tickets": 100,
    }
}


@pytest.fixture(autouse=True)
def isolated_hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no order checkers or after-delete hooks but the ones it adds."""
    monkeypatch.setattr(deletion, "_order_checkers", [])
    monkeypatch.setattr(deletion, "_after_delete_hooks", [])
    yield


@pytest.fixture
async def other_organizer(client: httpx.AsyncClient, runtime: Runtime) -> Signed:
    return await sign_in(client, runtime, Role.ORGANIZER)


def event_body(**changes: Any) -> dict[str, Any]:
    body = {**SEED_BODY["event"], **changes}
    return {"event": {k: v for k, v in body.items() if v is not None}}


async def create_event(client: httpx.AsyncClient, who: Signed, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/events", json=event_body(**changes), headers=who.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def published_event(client: httpx.AsyncClient, who: Signed, **changes: Any) -> dict[str, Any]:
    event = await create_event(client, who, **changes)
    response = await client.post(f"/api/events/{event['id']}/publish", headers=who.headers)
    assert response.status_code == 200, response.text
    published: dict[str, Any] = response.json()
    return published


def tier_ids(event: dict[str, Any]) -> list[uuid.UUID]:
    return [uuid.UUID(t["id"]) for t in event["tiers"]]


async def reserve(runtime: Runtime, event: dict[str, Any], lines: dict[uuid.UUID, int]) -> None:
    async with runtime.unit_of_work() as uow:
        await service.reserve(uow, uuid.UUID(event["id"]), lines)
