"""Membership plans: organizers sell them, anyone reads them, their owner changes and archives
them, and their terms stay fixed once anyone subscribed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from admitone.accounts.models import Role
from admitone.activity.models import ActivityEntry
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.billing.conftest import Shop
from tests.support.envelope import assert_envelope
from tests.support.memberships import subscribe
from tests.support.users import sign_in

PLANS = "/api/plans"
GOLD = {"name": "Gold", "price": "9.00", "currency": "eur", "interval": "month", "trial_days": 14}


async def create_plan(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(PLANS, json={"plan": {**GOLD, **fields}}, headers=headers)
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


async def test_an_organizer_creates_a_plan_that_anyone_can_read(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    plan = await create_plan(client, shop.organizer.headers, description="Early access")

    assert plan["price"] == "9.00" and plan["currency"] == "EUR"
    assert plan["interval"] == "month" and plan["trial_days"] == 14
    assert plan["organizer_id"] == shop.organizer.id and plan["archived"] is False
    read = await client.get(f"{PLANS}/{plan['id']}")
    assert read.status_code == 200 and read.json() == plan
    listed = await client.get(PLANS, params={"organizer_id": shop.organizer.id})
    assert [p["id"] for p in listed.json()["data"]] == [plan["id"]]


async def test_plans_are_listed_newest_first_a_page_at_a_time(
    client: httpx.AsyncClient, shop: Shop, clock: FrozenClock
) -> None:
    made = []
    for n in range(3):
        made.append((await create_plan(client, shop.organizer.headers, name=f"P{n}"))["id"])
        clock.advance(seconds=1)

    first = (await client.get(PLANS, params={"limit": 2})).json()
    rest = (await client.get(PLANS, params={"limit": 2, "cursor": first["next_cursor"]})).json()

    assert [p["id"] for p in first["data"] + rest["data"]] == made[::-1]
    assert rest["next_cursor"] is None


async def test_customers_and_guests_cannot_create_plans(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    refused = await client.post(PLANS, json={"plan": GOLD}, headers=shop.buyer.headers)
    assert_envelope(refused, 403, "billing_organizers_only")
    assert_envelope(await client.post(PLANS, json={"plan": GOLD}), 401, "not_authenticated")


async def test_bad_plan_input_is_refused_naming_the_field(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"price": "9.001"}, "plan.price"),
        ({"price": "-1.00"}, "plan.price"),
        ({"price": "lots"}, "plan.price"),
        ({"currency": "E1R"}, "plan.currency"),
        ({"interval": "week"}, "plan.interval"),
        ({"trial_days": -1}, "plan.trial_days"),
        ({"name": ""}, "plan.name"),
    ]
    for change, field in cases:
        response = await client.post(
            PLANS, json={"plan": {**GOLD, **change}}, headers=shop.organizer.headers
        )
        body = assert_envelope(response, 422, response.json()["error"])
        assert body["details"]["field"] == field, (change, body)
    assert (await client.get(PLANS)).json()["data"] == []


async def test_an_organizer_changes_a_plan_nobody_subscribed_to(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    plan = await create_plan(client, shop.organizer.headers)

    response = await client.patch(
        f"{PLANS}/{plan['id']}",
        json={"plan": {"name": "Platinum", "price": "12.50", "interval": "year"}},
        headers=shop.organizer.headers,
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["price"], changed["interval"]) == ("Platinum", "12.50", "year")


async def test_a_plans_terms_are_fixed_once_anyone_subscribed(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await create_plan(client, shop.organizer.headers)
    await subscribe(runtime, shop.buyer.user.id, uuid.UUID(plan["id"]))
    url = f"{PLANS}/{plan['id']}"

    locked = await client.patch(
        url, json={"plan": {"price": "1.00"}}, headers=shop.organizer.headers
    )
    renamed = await client.patch(
        url, json={"plan": {"name": "Gold+", "trial_days": 0}}, headers=shop.organizer.headers
    )

    assert assert_envelope(locked, 409, "plan_terms_locked")["details"]["field"] == "plan.price"
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["price"] == "9.00" and renamed.json()["name"] == "Gold+"


async def test_another_organizers_plan_is_not_found_for_writes(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    rival = await sign_in(client, runtime, Role.ORGANIZER)
    plan = await create_plan(client, shop.organizer.headers)
    url = f"{PLANS}/{plan['id']}"

    patched = await client.patch(url, json={"plan": {"name": "Mine"}}, headers=rival.headers)
    archived = await client.delete(url, headers=rival.headers)

    assert_envelope(patched, 404, "plan_not_found")
    assert_envelope(archived, 404, "plan_not_found")
    assert (await client.get(url)).json()["name"] == "Gold"
    by_staff = await client.patch(url, json={"plan": {"name": "Fixed"}}, headers=shop.admin.headers)
    assert by_staff.status_code == 200, by_staff.text


async def test_an_archived_plan_leaves_the_public_list_but_its_owner_still_sees_it(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    plan = await create_plan(client, shop.organizer.headers)
    url = f"{PLANS}/{plan['id']}"

    gone = await client.delete(url, headers=shop.organizer.headers)
    again = await client.delete(url, headers=shop.organizer.headers)

    assert gone.status_code == 204 and again.status_code == 204
    assert (await client.get(PLANS)).json()["data"] == []
    own = await client.get(PLANS, params={"archived": "true"}, headers=shop.organizer.headers)
    assert [p["id"] for p in own.json()["data"]] == [plan["id"]]
    assert own.json()["data"][0]["archived"] is True
    others = await client.get(PLANS, params={"archived": "true"}, headers=shop.buyer.headers)
    assert others.json()["data"] == []
    assert (await client.get(url)).json()["archived"] is True


async def test_plan_changes_are_in_the_activity_log_without_personal_data(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await create_plan(client, shop.organizer.headers)
    url = f"{PLANS}/{plan['id']}"
    await client.patch(url, json={"plan": {"name": "Gold+"}}, headers=shop.organizer.headers)
    await client.delete(url, headers=shop.organizer.headers)

    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(
            await uow.session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.resource_type == "plan")
                .order_by(ActivityEntry.created_at, ActivityEntry.action)
            )
        )
    actions = sorted(entry.action for entry in entries)
    assert actions == ["billing.plan_archived", "billing.plan_created", "billing.plan_updated"]
    for entry in entries:
        assert entry.resource_uuid == uuid.UUID(plan["id"])
        assert set(entry.meta) <= {"status", "amount", "currency", "kind"}
        assert "Gold" not in str(entry.meta)
