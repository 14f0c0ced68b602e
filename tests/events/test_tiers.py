from __future__ import annotations

import uuid

import httpx

from admitone.runtime import Runtime
from tests.events.conftest import create_event, published_event, reserve, tier_ids
from tests.support.users import Signed

TIER = {"name": "VIP", "price": "150.00", "capacity": 20}


async def test_tiers_are_added_changed_and_removed_by_the_organizer(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}/tiers"

    created = await client.post(url, json={"tier": TIER}, headers=organizer.headers)
    assert created.status_code == 201, created.text
    vip = created.json()
    assert (vip["name"], vip["price"], vip["capacity"], vip["position"]) == ("VIP", "150.00", 20, 1)

    changed = await client.put(
        f"{url}/{vip['id']}",
        json={"tier": {"price": "175.00", "max_per_order": 2, "name": "VIP+"}},
        headers=organizer.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price"], changed.json()["max_per_order"]) == ("175.00", 2)

    listed = await client.get(url, headers=organizer.headers)
    assert [t["name"] for t in listed.json()["data"]] == ["General admission", "VIP+"]

    removed = await client.delete(f"{url}/{vip['id']}", headers=organizer.headers)
    assert removed.status_code == 204
    event_now = (await client.get(f"/api/events/{event['id']}", headers=organizer.headers)).json()
    assert [t["name"] for t in event_now["tiers"]] == ["General admission"]


async def test_someone_elses_tiers_are_404(
    client: httpx.AsyncClient, organizer: Signed, other_organizer: Signed
) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}/tiers"
    [tier_id] = tier_ids(event)

    create = await client.post(url, json={"tier": TIER}, headers=other_organizer.headers)
    update = await client.put(
        f"{url}/{tier_id}", json={"tier": {"price": "1.00"}}, headers=other_organizer.headers
    )
    remove = await client.delete(f"{url}/{tier_id}", headers=other_organizer.headers)
    assert [r.status_code for r in (create, update, remove)] == [404, 404, 404]
    missing = await client.put(
        f"{url}/{uuid.uuid4()}", json={"tier": {"price": "1.00"}}, headers=organizer.headers
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "tier_not_found")


async def test_capacity_may_not_drop_below_what_is_taken(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(client, organizer, total_tickets=10)
    [tier_id] = tier_ids(event)
    await reserve(runtime, event, {tier_id: 6})
    url = f"/api/events/{event['id']}/tiers/{tier_id}"

    too_low = await client.put(url, json={"tier": {"capacity": 5}}, headers=organizer.headers)
    assert too_low.status_code == 409
    assert too_low.json()["error"] == "capacity_below_taken"
    assert too_low.json()["details"]["field"] == "tier.capacity"
    assert too_low.json()["details"]["taken"] == 6

    seed_form = await client.put(
        f"/api/events/{event['id']}",
        json={"event": {"total_tickets": 3}},
        headers=organizer.headers,
    )
    assert seed_form.status_code == 409
    assert seed_form.json()["error"] == "capacity_below_taken"
    cap = await client.put(
        f"/api/events/{event['id']}",
        json={"event": {"max_attendees": 5}},
        headers=organizer.headers,
    )
    assert (cap.status_code, cap.json()["details"]["field"]) == (409, "event.max_attendees")

    exact = await client.put(url, json={"tier": {"capacity": 6}}, headers=organizer.headers)
    assert exact.status_code == 200
    assert (exact.json()["remaining"], exact.json()["sold_out"]) == (0, True)


async def test_a_price_change_keeps_what_was_taken_and_applies_to_new_sales(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(client, organizer)
    [tier_id] = tier_ids(event)
    await reserve(runtime, event, {tier_id: 2})

    response = await client.put(
        f"/api/events/{event['id']}/tiers/{tier_id}",
        json={"tier": {"price": "80.00"}},
        headers=organizer.headers,
    )
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["taken"]) == ("80.00", 2)


async def test_a_tier_with_tickets_and_the_last_tier_cannot_be_deleted(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await published_event(client, organizer)
    url = f"/api/events/{event['id']}/tiers"
    [general] = tier_ids(event)

    last = await client.delete(f"{url}/{general}", headers=organizer.headers)
    assert (last.status_code, last.json()["error"]) == (409, "last_tier")

    vip = (await client.post(url, json={"tier": TIER}, headers=organizer.headers)).json()
    await reserve(runtime, event, {uuid.UUID(vip["id"]): 1})
    busy = await client.delete(f"{url}/{vip['id']}", headers=organizer.headers)
    assert (busy.status_code, busy.json()["error"]) == (409, "tier_has_tickets")


async def test_tier_input_is_checked(client: httpx.AsyncClient, organizer: Signed) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}/tiers"
    cases = [
        ({**TIER, "price": "-1"}, 422, "validation_error", "tier.price"),
        ({**TIER, "capacity": -1}, 422, "validation_error", "tier.capacity"),
        ({**TIER, "name": "n" * 101}, 422, "validation_error", "tier.name"),
        ({**TIER, "color": "red"}, 422, "validation_error", "tier.color"),
        ({**TIER, "max_per_order": 0}, 422, "validation_error", "tier.max_per_order"),
        (
            {**TIER, "sales_start": "2026-06-10T00:00:00Z", "sales_end": "2026-06-09T00:00:00Z"},
            422,
            "invalid_sales_window",
            "tier.sales_end",
        ),
    ]
    for tier, status, code, field in cases:
        response = await client.post(url, json={"tier": tier}, headers=organizer.headers)
        assert response.status_code == status, tier
        assert (response.json()["error"], response.json()["details"]["field"]) == (code, field)
