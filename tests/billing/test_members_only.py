"""Members-only tiers: a tier names the plans whose members alone may buy it; the purchase
pipeline refuses everyone else with 403 ``membership_required``, alone, in a batch, or from a
cart, and a membership that lapses later leaves the tickets it bought alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.billing.models import SubscriptionStatus
from admitone.core.actor import acting_as
from admitone.runtime import Runtime
from admitone.ticketing import memberships
from admitone.ticketing.errors import MembershipRequired
from admitone.ticketing.purchase import batching, reserve
from admitone.ticketing.purchase.request import PurchaseRequest, PurchaseResult
from tests.billing.conftest import Shop
from tests.support.envelope import assert_envelope
from tests.support.memberships import make_plan, set_status, subscribe
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import order_body, ticket_count

MEMBER_STATES = [
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
]
ENDED = [SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED, SubscriptionStatus.INCOMPLETE]


def tiers_url(event_id: uuid.UUID) -> str:
    return f"/api/events/{event_id}/tiers"


async def add_tier(
    client: httpx.AsyncClient, shop: Shop, plan_ids: Sequence[Any], **fields: Any
) -> httpx.Response:
    tier = {"name": "Members", "price": "20.00", "capacity": 50, **fields}
    return await client.post(
        tiers_url(shop.event.id),
        json={"tier": {**tier, "required_plan_ids": [str(p) for p in plan_ids]}},
        headers=shop.organizer.headers,
    )


async def members_tier(client: httpx.AsyncClient, shop: Shop, *plan_ids: uuid.UUID) -> uuid.UUID:
    response = await add_tier(client, shop, plan_ids)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def buy_tier(
    client: httpx.AsyncClient,
    shop: Shop,
    tier_id: uuid.UUID,
    buyer: Signed | None,
    *,
    email: str = "member@example.org",
) -> httpx.Response:
    items = [(shop.event.tier_ids[0], 1), (tier_id, 2)]
    return await client.post(
        f"/api/events/{shop.event.id}/purchase",
        json=order_body(None, items=items, email=email, name="Member"),
        headers=buyer.headers if buyer else {},
    )


# The tier's plans


async def test_a_tier_requires_plans_of_its_events_organizer_and_says_so(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan, plan)  # named twice, kept once

    listed = (await client.get(tiers_url(shop.event.id))).json()["data"]

    by_id = {t["id"]: t for t in listed}
    assert by_id[str(tier_id)]["required_plan_ids"] == [str(plan)]
    assert by_id[str(shop.event.tier_ids[0])]["required_plan_ids"] == []
    cleared = await client.put(
        f"{tiers_url(shop.event.id)}/{tier_id}",
        json={"tier": {"required_plan_ids": []}},
        headers=shop.organizer.headers,
    )
    assert cleared.status_code == 200 and cleared.json()["required_plan_ids"] == []


async def test_a_tier_cannot_require_a_missing_foreign_archived_or_other_currency_plan(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    rival = await sign_in(client, runtime, Role.ORGANIZER)
    good = await make_plan(runtime, shop.organizer.user.id)
    cases = [
        (uuid.uuid4(), "plan_not_found"),
        (await make_plan(runtime, rival.user.id), "plan_not_found"),
        (await make_plan(runtime, shop.organizer.user.id, archived=True), "plan_not_found"),
        (
            await make_plan(runtime, shop.organizer.user.id, currency="EUR"),
            "plan_currency_mismatch",
        ),
    ]
    for plan_id, code in cases:
        response = await add_tier(client, shop, [good, plan_id])
        body = assert_envelope(response, 422, code)
        assert body["details"]["field"] == "tier.required_plan_ids.1"
    tiers = (await client.get(tiers_url(shop.event.id))).json()["data"]
    assert len(tiers) == 1  # nothing half-written

    updated = await client.put(
        f"{tiers_url(shop.event.id)}/{shop.event.tier_ids[0]}",
        json={"tier": {"required_plan_ids": [str(uuid.uuid4())]}},
        headers=shop.organizer.headers,
    )
    field = assert_envelope(updated, 422, "plan_not_found")["details"]["field"]
    assert field == "tier.required_plan_ids.0"


async def test_an_event_created_with_a_members_tier_names_the_tier_at_fault(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id, currency="EUR")
    tier = {"name": "Members", "price": "20.00", "capacity": 5}
    body = {
        "name": "Club night",
        "venue": "Club",
        "date": "2026-09-01T20:00:00Z",
        "currency": "EUR",
        "tiers": [tier, {**tier, "name": "Guests", "required_plan_ids": [str(uuid.uuid4())]}],
    }

    refused = await client.post("/api/events", json={"event": body}, headers=shop.organizer.headers)
    body["tiers"][1]["required_plan_ids"] = [str(plan)]  # type: ignore[index]
    made = await client.post("/api/events", json={"event": body}, headers=shop.organizer.headers)

    field = assert_envelope(refused, 422, "plan_not_found")["details"]["field"]
    assert field == "event.tiers.1.required_plan_ids.0"
    assert made.status_code == 201, made.text
    assert [t["required_plan_ids"] for t in made.json()["tiers"]] == [[], [str(plan)]]


# The purchase


async def test_a_guest_is_refused_a_members_tier_and_nothing_is_taken(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)

    response = await buy_tier(client, shop, tier_id, None)

    body = assert_envelope(response, 403, "membership_required")
    assert body["details"] == {
        "field": "order.items.1.tier_id",
        "tier_id": str(tier_id),
        "plan_ids": [str(plan)],
    }
    tiers = (await client.get(tiers_url(shop.event.id))).json()["data"]
    assert {t["taken"] for t in tiers} == {0}


@pytest.mark.parametrize("status", [None, *ENDED], ids=lambda s: s or "never")
async def test_a_buyer_without_a_live_membership_is_refused(
    client: httpx.AsyncClient,
    runtime: Runtime,
    shop: Shop,
    status: SubscriptionStatus | None,
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    other_plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)
    await subscribe(runtime, shop.buyer.user.id, other_plan)  # a member, of another plan
    if status is not None:
        await subscribe(runtime, shop.buyer.user.id, plan, status)

    response = await buy_tier(client, shop, tier_id, shop.buyer)

    assert_envelope(response, 403, "membership_required")


@pytest.mark.parametrize("status", MEMBER_STATES)
async def test_a_trialing_active_or_past_due_member_buys_the_tier(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, status: SubscriptionStatus
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    other = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, other, plan)  # a member of one of them is enough
    await subscribe(runtime, shop.buyer.user.id, plan, status)

    response = await buy_tier(client, shop, tier_id, shop.buyer)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "paid"
    assert await ticket_count(runtime, response.json()["id"]) == 3


async def test_a_membership_that_lapses_keeps_the_tickets_it_bought(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)
    subscription = await subscribe(runtime, shop.buyer.user.id, plan)
    bought = await buy_tier(client, shop, tier_id, shop.buyer)
    assert bought.status_code == 201, bought.text

    await set_status(runtime, subscription, SubscriptionStatus.EXPIRED)

    assert await ticket_count(runtime, bought.json()["id"]) == 3
    order = await client.get(f"/api/orders/{bought.json()['id']}", headers=shop.buyer.headers)
    assert order.json()["status"] == "paid"
    again = await buy_tier(client, shop, tier_id, shop.buyer)
    assert_envelope(again, 403, "membership_required")


async def test_the_default_tier_bought_by_quantity_is_checked_too(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    updated = await client.put(
        f"{tiers_url(shop.event.id)}/{shop.event.tier_ids[0]}",
        json={"tier": {"required_plan_ids": [str(plan)]}},
        headers=shop.organizer.headers,
    )
    assert updated.status_code == 200, updated.text

    response = await client.post(
        f"/api/events/{shop.event.id}/purchase", json=order_body(1), headers=shop.buyer.headers
    )

    assert assert_envelope(response, 403, "membership_required")["details"]["field"] == "order"


async def test_a_purchase_of_tiers_that_require_nothing_never_looks_memberships_up(
    client: httpx.AsyncClient,
    runtime: Runtime,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked_up: list[uuid.UUID] = []

    async def spy(uow: Any, user_id: uuid.UUID, plan_ids: Any) -> frozenset[uuid.UUID]:
        looked_up.append(user_id)
        return frozenset(plan_ids)  # a member of every plan

    monkeypatch.setattr(memberships, "_lookups", [spy])
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)

    free = await client.post(
        f"/api/events/{shop.event.id}/purchase",
        json=order_body(None, items=[(shop.event.tier_ids[0], 1)]),
        headers=shop.buyer.headers,
    )
    assert free.status_code == 201, free.text
    assert looked_up == []  # the event has a members' tier, but this purchase is not of it
    members = await buy_tier(client, shop, tier_id, shop.buyer)
    assert members.status_code == 201, members.text
    assert looked_up == [shop.buyer.user.id]  # one lookup for the purchase that needs it


async def test_a_batch_of_members_and_non_members_refuses_only_the_non_members(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    place = reserve.reserve_orders

    async def placing(uow: Any, settings: Any, items: Sequence[Any], *rest: Any) -> Any:
        sizes.append(len(items))
        return await place(uow, settings, items, *rest)

    monkeypatch.setattr(batching, "reserve_orders", placing)
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)
    buyers = [await sign_in(client, runtime, Role.CUSTOMER) for _ in range(6)]
    for member in buyers[::2]:
        await subscribe(runtime, member.user.id, plan)
    purchases = batching.PurchaseGroups(runtime.unit_of_work, runtime.settings)

    async def purchase(buyer: Signed) -> PurchaseResult:
        request = PurchaseRequest(
            shop.event.id, buyer.user.email, "Buyer", [(tier_id, 1)], buyer_user_id=buyer.user.id
        )
        with acting_as(buyer.actor):
            return await purchases.purchase(runtime.gateway, request)

    results = await asyncio.gather(*(purchase(b) for b in buyers), return_exceptions=True)

    assert sizes[0] == 6  # all six in one batch
    for result in results[::2]:
        assert isinstance(result, PurchaseResult) and result.order.status == "paid"
    for result in results[1::2]:
        assert isinstance(result, MembershipRequired)  # each answered alone
    tiers = {t["id"]: t for t in (await client.get(tiers_url(shop.event.id))).json()["data"]}
    assert tiers[str(tier_id)]["taken"] == 3


async def test_a_cart_with_a_members_tier_checks_out_for_members_only(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)

    async def checkout(buyer: Signed) -> httpx.Response:
        cart = (await client.post("/api/carts", headers=buyer.headers)).json()
        added = await client.post(
            f"/api/carts/{cart['id']}/items",
            json={"tier_id": str(tier_id), "quantity": 1},
            headers=buyer.headers,
        )
        assert added.status_code == 201, added.text
        return await client.post(
            f"/api/carts/{cart['id']}/checkout", json={"order": {}}, headers=buyer.headers
        )

    refused = await checkout(shop.stranger)
    await subscribe(runtime, shop.buyer.user.id, plan)
    bought = await checkout(shop.buyer)

    body = assert_envelope(refused, 403, "membership_required")
    assert body["details"]["tier_id"] == str(tier_id)
    assert body["details"]["field"] == "items.0.tier_id"  # the cart's line
    assert bought.status_code == 201, bought.text
    assert bought.json()["status"] == "paid"


async def test_archiving_a_plan_keeps_its_members_buying_its_tiers(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    plan = await make_plan(runtime, shop.organizer.user.id)
    tier_id = await members_tier(client, shop, plan)
    await subscribe(runtime, shop.buyer.user.id, plan)

    archived = await client.delete(f"/api/plans/{plan}", headers=shop.organizer.headers)

    assert archived.status_code == 204
    bought = await buy_tier(client, shop, tier_id, shop.buyer)
    assert bought.status_code == 201, bought.text
    assert_envelope(
        await buy_tier(client, shop, tier_id, shop.stranger), 403, "membership_required"
    )
