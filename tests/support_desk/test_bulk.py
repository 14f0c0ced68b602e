"""Bulk updates: one transaction, one message, an activity entry for each request, and all or
nothing when one request may not be touched or changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.support.sse import open_stream
from tests.support_desk.conftest import REQUESTS, Desk, open_request

BULK = f"{REQUESTS}/bulk"


async def statuses(client: httpx.AsyncClient, desk: Desk, ids: list[str]) -> list[str]:
    found = []
    for request_id in ids:
        response = await client.get(f"{REQUESTS}/{request_id}", headers=desk.admin.headers)
        found.append(response.json()["status"])
    return found


async def support_activity(runtime: Runtime) -> list[ActivityEntry]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(ActivityEntry).where(ActivityEntry.action.like("support.%"))
        )
        return list(rows)


async def test_a_bulk_update_changes_all_with_one_message_and_an_activity_entry_for_each(
    client: httpx.AsyncClient, streamer: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    ids = [(await open_request(client, desk.customer.headers))["id"] for _ in range(3)]
    async with open_stream(streamer, "tickets:all", desk.admin.headers) as staff:
        response = await client.post(
            BULK,
            json={"ids": ids, "status": "in_progress", "priority": "high"},
            headers=desk.admin.headers,
        )
        assert response.status_code == 200, response.text
        message = await staff.next_event()
        assert message.event == "tickets_bulk_updated"
        assert sorted(message.json()["payload"]["ids"]) == sorted(ids)
        assert message.json()["payload"]["changes"] == {
            "status": "in_progress",
            "priority": "high",
        }
        # One message for the whole update: the next one on the topic is a later request's.
        await open_request(client, desk.customer.headers)
        assert (await staff.next_event()).event == "ticket_created"
    assert await statuses(client, desk, ids) == ["in_progress"] * 3
    entries = await support_activity(runtime)
    changed = [e for e in entries if e.action == "support.request_status_changed"]
    assert sorted(str(e.resource_uuid) for e in changed) == sorted(ids)
    assert all(e.meta["kind"] == "bulk" for e in changed)
    assert len([e for e in entries if e.action == "support.request_priority_changed"]) == 3


async def test_a_bulk_update_naming_a_request_the_actor_may_not_touch_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    ours = await open_request(client, desk.customer.headers, order_id=desk.order["id"])
    foreign = await open_request(client, desk.stranger.headers)
    response = await client.post(
        BULK,
        json={"ids": [ours["id"], foreign["id"]], "status": "resolved"},
        headers=desk.organizer.headers,
    )
    assert response.status_code == 404
    assert response.json()["details"] == {"field": "ids", "ids": [foreign["id"]]}
    assert await statuses(client, desk, [ours["id"], foreign["id"]]) == ["open", "open"]
    # A requester touches no request in bulk, not even their own.
    mine = await client.post(
        BULK, json={"ids": [ours["id"]], "status": "closed"}, headers=desk.customer.headers
    )
    assert mine.status_code == 404
    assert [e.action for e in await support_activity(runtime)] == [
        "support.request_created",
        "support.request_created",
    ]


async def test_a_bulk_update_with_a_refused_transition_changes_nothing_and_names_it(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    first = await open_request(client, desk.customer.headers)
    closed = await open_request(client, desk.customer.headers)
    done = await client.patch(
        f"{REQUESTS}/{closed['id']}", json={"status": "closed"}, headers=desk.admin.headers
    )
    assert done.status_code == 200
    response = await client.post(
        BULK,
        json={"ids": [first["id"], closed["id"]], "status": "resolved"},
        headers=desk.admin.headers,
    )
    assert response.status_code == 409
    assert response.json()["details"]["id"] == closed["id"]
    assert response.json()["details"]["status"] == "closed"
    assert await statuses(client, desk, [first["id"], closed["id"]]) == ["open", "closed"]


@pytest.mark.parametrize(
    "body",
    [
        {"ids": []},
        {"ids": ["not-a-uuid"], "status": "closed"},
        {"ids": [f"00000000-0000-4000-8000-{i:012d}" for i in range(101)], "status": "closed"},
        {"ids": ["00000000-0000-4000-8000-000000000000"]},
        {"ids": ["00000000-0000-4000-8000-000000000000"], "status": "lost"},
    ],
)
async def test_a_malformed_bulk_update_is_422(
    client: httpx.AsyncClient, desk: Desk, body: dict[str, Any]
) -> None:
    response = await client.post(BULK, json=body, headers=desk.admin.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_another_method_on_the_bulk_route_is_405_not_a_malformed_request_id(
    client: httpx.AsyncClient, desk: Desk, method: str
) -> None:
    response = await client.request(method, BULK, json={}, headers=desk.admin.headers)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"


async def test_a_request_id_that_is_not_an_id_is_not_found(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    response = await client.get(f"{REQUESTS}/not-an-id", headers=desk.admin.headers)
    assert response.status_code == 404
