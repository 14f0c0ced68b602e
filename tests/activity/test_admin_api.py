"""GET /api/admin/activity: owners and admins read the log, filtered and a page at a time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.activity import service as activity
from admitone.core.actor import Actor, acting_as
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.conftest import auth_headers

URL = "/api/admin/activity"


async def record_as(runtime: Runtime, actor: Actor, action: str, **kwargs: Any) -> None:
    with acting_as(actor):
        async with runtime.unit_of_work() as uow:
            await activity.record(uow, action, **kwargs)


async def actions(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["action"] for item in response.json()["data"]]


async def test_guests_must_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 401


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ORGANIZER])
async def test_customers_and_organizers_are_forbidden(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    _, headers = await auth_headers(client, runtime, role)
    response = await client.get(URL, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_owners_and_admins_read_the_log(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    _, headers = await auth_headers(client, runtime, role)
    order = uuid.uuid4()
    await record_as(
        runtime,
        Actor(uuid.uuid4(), "admin"),
        "billing.order_created",
        resource_type="order",
        resource_uuid=order,
        metadata={"status": "pending", "amount": 5000, "currency": "EUR"},
    )
    response = await client.get(URL, params={"action": "billing."}, headers=headers)
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert item["resource_uuid"] == str(order)
    assert item["actor_role"] == "admin"
    assert item["mode"] == "manual"
    assert item["metadata"] == {"status": "pending", "amount": 5000, "currency": "EUR"}
    assert response.json()["next_cursor"] is None


async def test_filters_by_actor_action_prefix_and_resource(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    alice, bob = Actor(uuid.uuid4(), "organizer"), Actor(uuid.uuid4(), "customer")
    order = uuid.uuid4()
    cases: list[tuple[Actor, str, dict[str, Any]]] = [
        (alice, "events.event_published", {"resource_type": "event"}),
        (bob, "billing.order_created", {"resource_type": "order", "resource_uuid": order}),
        (bob, "billing.order_paid", {"resource_type": "order", "resource_uuid": order}),
        (bob, "billing.orders_exported", {}),
        (alice, "billing.order_created", {"resource_type": "order"}),
    ]
    for actor, action, resource in cases:
        clock.advance(seconds=1)
        await record_as(runtime, actor, action, **resource)

    assert await actions(client, headers, actor=str(alice.uuid)) == [
        "billing.order_created",
        "events.event_published",
    ]
    # "_" is literal in the prefix, so billing.orders_exported does not match.
    assert await actions(client, headers, action="billing.order_") == [
        "billing.order_created",
        "billing.order_paid",
        "billing.order_created",
    ]
    assert await actions(client, headers, action="billing.order_paid") == ["billing.order_paid"]
    assert await actions(client, headers, resource_type="order", resource_uuid=str(order)) == [
        "billing.order_paid",
        "billing.order_created",
    ]
    assert await actions(
        client, headers, actor=str(bob.uuid), action="billing.", resource_type="order"
    ) == ["billing.order_paid", "billing.order_created"]


async def test_since_is_inclusive_and_until_exclusive(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    start = clock.advance(hours=1)
    system = Actor(None, "system")
    for action in ("jobs.job_started", "jobs.job_retried", "jobs.job_finished"):
        await record_as(runtime, system, action)
        clock.advance(minutes=10)
    _, headers = await auth_headers(client, runtime, Role.OWNER)

    window = {"since": start.isoformat(), "until": (start + timedelta(minutes=20)).isoformat()}
    assert await actions(client, headers, action="jobs.", **window) == [
        "jobs.job_retried",
        "jobs.job_started",
    ]
    later = {"since": (start + timedelta(minutes=10)).isoformat()}
    assert await actions(client, headers, action="jobs.", **later) == [
        "jobs.job_finished",
        "jobs.job_retried",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-06-01T12:00:00"}, "since"),  # no time zone
        ({"since": "2026-06-02T00:00:00Z", "until": "2026-06-01T00:00:00Z"}, "until"),
        ({"action": "Billing.%"}, "action"),
        ({"actor": "not-a-uuid"}, "actor"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_bad_filters_are_a_422_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, params: dict[str, str], field: str
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 422
    assert field in response.text


async def test_pages_walk_the_log_newest_first_without_gaps_or_repeats(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    staff = Actor(uuid.uuid4(), "admin")
    created = []
    for _ in range(5):
        clock.advance(seconds=1)
        ticket = uuid.uuid4()
        created.append(str(ticket))
        await record_as(
            runtime, staff, "ticketing.ticket_checked", resource_type="ticket", resource_uuid=ticket
        )
    # Two entries in the same instant: the cursor must still separate them.
    same_instant = uuid.uuid4()
    created.append(str(same_instant))
    await record_as(
        runtime,
        staff,
        "ticketing.ticket_checked",
        resource_type="ticket",
        resource_uuid=same_instant,
    )

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"action": "ticketing.", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = (await client.get(URL, params=params, headers=headers)).json()
        seen += [item["resource_uuid"] for item in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert seen[2:] == created[3::-1]
