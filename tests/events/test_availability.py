from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from admitone.events import service
from admitone.runtime import Runtime
from tests.events.conftest import create_event, published_event, reserve, tier_ids
from tests.support.users import Signed


async def test_availability_is_public_for_published_events_and_counts_per_tier(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(
        client,
        organizer,
        ticket_price=None,
        total_tickets=None,
        max_attendees=12,
        tiers=[
            {"name": "General", "price": "10.00", "capacity": 10},
            {"name": "VIP", "price": "30.00", "capacity": 5},
            {
                "name": "Late",
                "price": "15.00",
                "capacity": 5,
                "sales_start": "2026-06-20T00:00:00Z",
            },
        ],
    )
    general, vip, _late = tier_ids(event)
    await reserve(runtime, event, {general: 4, vip: 5})

    response = await client.get(f"/api/events/{event['id']}/availability")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["remaining"], body["sold_out"], body["on_sale"]) == (
        "published",
        3,
        False,
        True,
    )
    assert [(t["name"], t["remaining"], t["sold_out"], t["on_sale"]) for t in body["tiers"]] == [
        ("General", 3, False, True),  # 6 left in the tier, but only 3 under the event cap
        ("VIP", 0, True, True),
        ("Late", 3, False, False),
    ]
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert detail["available_tickets"] == 3


async def test_a_sold_out_event_says_so(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(client, organizer, total_tickets=2)
    await reserve(runtime, event, {tier_ids(event)[0]: 2})
    body = (await client.get(f"/api/events/{event['id']}/availability")).json()
    assert (body["remaining"], body["sold_out"]) == (0, True)


async def test_availability_of_a_draft_is_hidden_from_the_public(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    event = await create_event(client, organizer)
    assert (await client.get(f"/api/events/{event['id']}/availability")).status_code == 404
    own = await client.get(f"/api/events/{event['id']}/availability", headers=organizer.headers)
    assert (own.status_code, own.json()["on_sale"]) == (200, False)
    assert (await client.get(f"/api/events/{uuid.uuid4()}/availability")).status_code == 404


async def test_reservations_publish_availability_after_commit_only(
    client: httpx.AsyncClient,
    organizer: Signed,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = await published_event(client, organizer, total_tickets=5)
    [tier_id] = tier_ids(event)
    sent: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, message: dict[str, Any]) -> None:
        sent.append((topic, message))

    monkeypatch.setattr(runtime.bus, "publish", record)
    await reserve(runtime, event, {tier_id: 2})
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            await service.reserve(uow, uuid.UUID(event["id"]), {tier_id: 1})
            raise RuntimeError("the purchase failed later in its transaction")

    [(topic, message)] = sent
    assert topic == f"events:{event['id']}:availability"
    assert message["type"] == "availability_changed"
    assert message["payload"]["remaining"] == 3
    assert message["payload"]["tiers"][0]["remaining"] == 3
