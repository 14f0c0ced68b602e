"""Carts: one line per product and normalised options (or per tier), guests by token, and bad
input refused whole."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from admitone.accounts import service as accounts_service
from admitone.core.actor import SYSTEM, acting_as
from admitone.runtime import Runtime
from admitone.shop.models import Cart, CartItem
from admitone.shop.options import options_key
from tests.shop.conftest import (
    CARTS,
    PRODUCTS,
    Shop,
    add,
    create_product,
    guest_cart,
    make_event,
    shirt,
)


async def cart_of(client: httpx.AsyncClient, cart_id: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"{CARTS}/{cart_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_same_options_in_any_order_are_one_line_and_other_options_another(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    cart_id, token = await guest_cart(client)
    first = await add(
        client,
        cart_id,
        token,
        product_id=product["id"],
        quantity=1,
        options={"size": "XL", "colour": "red"},
    )
    assert first.status_code == 201, first.text
    again = await add(
        client,
        cart_id,
        token,
        product_id=product["id"],
        quantity=2,
        options={"colour": "red", "size": "XL"},
    )
    other = await add(
        client,
        cart_id,
        token,
        product_id=product["id"],
        quantity=1,
        options={"colour": "blue", "size": "XL"},
    )
    assert again.status_code == other.status_code == 201

    cart = await cart_of(client, cart_id, token)
    lines = {tuple(sorted(i["options"].items())): i for i in cart["items"]}
    assert len(lines) == 2
    red = lines[(("colour", "red"), ("size", "XL"))]
    assert red["quantity"] == 3
    assert red["unit_price"] == "27.00"  # 25.00 and 2.00 for XL
    assert red["line_total"] == "81.00"
    assert cart["total"] == "108.00"
    assert cart["currency"] == "USD"
    assert cart["organizer_id"] == shop.organizer.id
    assert cart["token"] is None  # the token is answered once, when the cart is made


async def test_a_cart_mixes_ticket_tiers_and_products(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    product = await create_product(client, shop.organizer, event_id=str(shop.event_id))
    response = await client.post(CARTS, headers=shop.customer.headers)
    assert response.status_code == 201 and response.json()["token"] is None
    cart_id = response.json()["id"]
    headers = shop.customer.headers
    tier = str(shop.tier_ids[0])
    assert (await add(client, cart_id, headers, tier_id=tier, quantity=2)).status_code == 201
    assert (await add(client, cart_id, headers, tier_id=tier, quantity=1)).status_code == 201
    added = await add(client, cart_id, headers, product_id=product["id"], quantity=1)
    assert added.status_code == 201

    cart = await cart_of(client, cart_id, headers)
    kinds = {i["kind"]: i for i in cart["items"]}
    assert kinds["tier"]["quantity"] == 3
    assert kinds["tier"]["unit_price"] == "50.00"
    assert kinds["tier"]["event_id"] == str(shop.event_id)
    assert kinds["product"]["event_id"] == str(shop.event_id)
    assert cart["total"] == "175.00"


async def test_lines_change_and_go_and_an_empty_cart_takes_another_organizer(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    mine = await create_product(client, shop.organizer)
    theirs = await create_product(client, shop.rival)
    cart_id, token = await guest_cart(client)
    await add(client, cart_id, token, product_id=mine["id"], quantity=1)
    mixed = await add(client, cart_id, token, product_id=theirs["id"], quantity=1)
    assert mixed.status_code == 422
    assert mixed.json()["error"] == "cart_mixed_organizers"
    assert mixed.json()["details"]["field"] == "product_id"

    item_id = (await cart_of(client, cart_id, token))["items"][0]["id"]
    path = f"{CARTS}/{cart_id}/items/{item_id}"
    changed = await client.put(path, json={"quantity": 7}, headers=token)
    assert changed.status_code == 200
    assert changed.json()["items"][0]["quantity"] == 7
    emptied = await client.delete(path, headers=token)
    assert emptied.status_code == 200
    assert emptied.json()["items"] == [] and emptied.json()["organizer_id"] is None
    assert (await client.delete(path, headers=token)).status_code == 404
    now_theirs = await add(client, cart_id, token, product_id=theirs["id"], quantity=1)
    assert now_theirs.status_code == 201


async def test_someone_elses_cart_is_not_found(client: httpx.AsyncClient, shop: Shop) -> None:
    product = await create_product(client, shop.organizer)
    cart_id, token = await guest_cart(client)
    _, other_token = await guest_cart(client)
    mine = await client.post(CARTS, headers=shop.customer.headers)
    mine_id = mine.json()["id"]
    await add(client, cart_id, token, product_id=product["id"], quantity=1)
    item_id = (await cart_of(client, cart_id, token))["items"][0]["id"]

    for headers in ({}, other_token, shop.customer.headers, shop.admin.headers):
        seen = await client.get(f"{CARTS}/{cart_id}", headers=headers)
        assert seen.status_code == 404 and seen.json()["error"] == "cart_not_found"
        added = await add(client, cart_id, headers, product_id=product["id"], quantity=1)
        assert added.status_code == 404
        changed = await client.put(
            f"{CARTS}/{cart_id}/items/{item_id}", json={"quantity": 2}, headers=headers
        )
        assert changed.status_code == 404
    for headers in ({}, token, shop.organizer.headers):
        assert (await client.get(f"{CARTS}/{mine_id}", headers=headers)).status_code == 404
    # An item of one cart is not reached through another.
    stray = await client.delete(f"{CARTS}/{mine_id}/items/{item_id}", headers=shop.customer.headers)
    assert stray.status_code == 404 and stray.json()["error"] == "cart_item_not_found"
    assert (await cart_of(client, cart_id, token))["items"][0]["quantity"] == 1


async def test_bad_lines_are_refused_naming_the_field_and_nothing_is_added(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    hidden = await create_product(client, shop.organizer, is_available=False)
    deleted = await create_product(client, shop.organizer)
    await client.delete(f"{PRODUCTS}/{deleted['id']}", headers=shop.organizer.headers)
    cart_id, token = await guest_cart(client)
    red_m = {"size": "M", "colour": "red"}
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (
            {"product_id": product["id"], "quantity": 0, "options": red_m},
            422,
            "validation_error",
            "quantity",
        ),
        (
            {"product_id": product["id"], "quantity": -2, "options": red_m},
            422,
            "validation_error",
            "quantity",
        ),
        (
            {"product_id": product["id"], "quantity": 1001, "options": red_m},
            422,
            "validation_error",
            "quantity",
        ),
        (
            {"product_id": product["id"], "quantity": 1, "options": {"size": "M"}},
            422,
            "shop_invalid_options",
            "options.colour",
        ),
        (
            {"product_id": product["id"], "quantity": 1, "options": {**red_m, "fit": "slim"}},
            422,
            "shop_invalid_options",
            "options.fit",
        ),
        (
            {"product_id": product["id"], "quantity": 1, "options": {**red_m, "size": "XXL"}},
            422,
            "shop_invalid_options",
            "options.size",
        ),
        ({"product_id": hidden["id"], "quantity": 1}, 404, "shop_product_not_found", "product_id"),
        ({"product_id": deleted["id"], "quantity": 1}, 404, "shop_product_not_found", "product_id"),
        (
            {"product_id": str(uuid.uuid4()), "quantity": 1},
            404,
            "shop_product_not_found",
            "product_id",
        ),
        ({"tier_id": str(uuid.uuid4()), "quantity": 1}, 404, "tier_not_found", "tier_id"),
        (
            {"tier_id": str(shop.tier_ids[0]), "quantity": 1, "options": {"size": "M"}},
            422,
            "cart_item_invalid",
            "options",
        ),
        ({"quantity": 1}, 422, "cart_item_invalid", "product_id"),
        (
            {"tier_id": str(shop.tier_ids[0]), "product_id": product["id"], "quantity": 1},
            422,
            "cart_item_invalid",
            "product_id",
        ),
    ]
    for body, status, code, field in cases:
        response = await add(client, cart_id, token, **body)
        assert response.status_code == status, (body, response.text)
        error = response.json()
        found_field = error["details"].get("field") or error["details"]["fields"][0]["field"]
        assert (error["error"], found_field) == (code, field), body

    ok = await add(client, cart_id, token, product_id=product["id"], quantity=600, options=red_m)
    assert ok.status_code == 201
    too_many = await add(
        client, cart_id, token, product_id=product["id"], quantity=401, options=red_m
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"] == "cart_quantity_too_large"
    cart = await cart_of(client, cart_id, token)
    assert [i["quantity"] for i in cart["items"]] == [600]


async def test_a_product_or_tier_of_a_draft_event_or_in_another_currency_stays_out(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    draft_event, draft_tiers = await make_event(runtime, shop.organizer.user, publish=False)
    of_draft = await create_product(client, shop.organizer, event_id=str(draft_event))
    euros = await create_product(client, shop.organizer, currency="EUR")
    dollars = await create_product(client, shop.organizer)
    cart_id, token = await guest_cart(client)
    unpublished = await add(client, cart_id, token, product_id=of_draft["id"], quantity=1)
    assert unpublished.status_code == 404
    draft_tier = await add(client, cart_id, token, tier_id=str(draft_tiers[0]), quantity=1)
    assert draft_tier.status_code == 404 and draft_tier.json()["error"] == "tier_not_found"
    await add(client, cart_id, token, product_id=dollars["id"], quantity=1)
    refused = await add(client, cart_id, token, product_id=euros["id"], quantity=1)
    assert refused.status_code == 422
    assert refused.json()["error"] == "shop_currency_mismatch"
    assert len((await cart_of(client, cart_id, token))["items"]) == 1


async def test_a_deleted_users_carts_go_with_the_account(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await create_product(client, shop.organizer)
    cart = await client.post(CARTS, headers=shop.customer.headers)
    await add(
        client, cart.json()["id"], shop.customer.headers, product_id=product["id"], quantity=1
    )
    async with runtime.unit_of_work() as uow:
        user = await accounts_service.get_user(uow, shop.customer.user.id)
        assert user is not None
        with acting_as(SYSTEM):
            await uow.session.delete(user)
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Cart)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(CartItem)) == 0


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_racing_adds_of_one_line_end_as_one_line_holding_every_quantity(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    cart_id, token = await guest_cart(client)

    async def add_one(i: int) -> int:
        choice = {"size": "S", "colour": "blue"} if i % 2 else {"colour": "blue", "size": "S"}
        response = await add(
            client, cart_id, token, product_id=product["id"], quantity=1 + i % 3, options=choice
        )
        return response.status_code

    statuses = await asyncio.gather(*(add_one(i) for i in range(30)))

    assert set(statuses) == {201}
    cart = await cart_of(client, cart_id, token)
    assert len(cart["items"]) == 1
    assert cart["items"][0]["quantity"] == sum(1 + i % 3 for i in range(30))


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_unique_index_itself_keeps_one_line_per_product_and_options(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    """Two connections insert the same line at once, bypassing the service: the database lets
    exactly one of them in."""
    product = await shirt(client, shop.organizer)
    cart_id, _ = await guest_cart(client)
    choice = {"size": "S", "colour": "red"}
    now = runtime.clock.now()

    async def insert() -> bool:
        try:
            async with runtime.unit_of_work() as uow:
                uow.session.add(
                    CartItem(
                        cart_id=uuid.UUID(cart_id),
                        product_id=uuid.UUID(product["id"]),
                        options=choice,
                        options_key=options_key(choice),
                        quantity=1,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except Exception:
            return False
        return True

    assert sorted(await asyncio.gather(insert(), insert())) == [False, True]


async def test_a_deleted_tier_leaves_the_carts_it_was_in(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    cart_id, token = await guest_cart(client)
    balcony, general = str(shop.tier_ids[1]), str(shop.tier_ids[0])
    await add(client, cart_id, token, tier_id=balcony, quantity=2)
    await add(client, cart_id, token, tier_id=general, quantity=1)
    deleted = await client.delete(
        f"/api/events/{shop.event_id}/tiers/{balcony}", headers=shop.organizer.headers
    )
    assert deleted.status_code == 204, deleted.text
    cart = await cart_of(client, cart_id, token)
    assert [i["tier_id"] for i in cart["items"]] == [general]
