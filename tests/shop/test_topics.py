"""Live shop topics: sent after commit only, on the topics each reader may read."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from admitone.core.actor import ANONYMOUS
from admitone.realtime.errors import TopicForbidden
from admitone.realtime.topics import registry
from admitone.runtime import Runtime
from admitone.shop import service
from admitone.shop.schemas import CategoryCreate
from tests.shop.conftest import CATEGORIES, PRODUCTS, Shop, create_product, make_event, shirt

Sent = list[tuple[str, dict[str, Any]]]


def kinds(sent: Sent, topic: str) -> list[str]:
    return [message["type"] for name, message in sent if name == topic]


async def test_product_changes_reach_the_public_list_only_while_the_product_is_public(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, published: Sent
) -> None:
    product = await create_product(client, shop.organizer)
    own = f"shop:products:{product['id']}"
    path = f"{PRODUCTS}/{product['id']}"
    await client.put(path, json={"is_available": False}, headers=shop.organizer.headers)
    await client.put(path, json={"price": "9.00"}, headers=shop.organizer.headers)
    await client.delete(path, headers=shop.organizer.headers)

    assert kinds(published, own) == [
        "product_created",
        "product_updated",
        "product_updated",
        "product_deleted",
    ]
    # Announced when it stopped being public; its hidden price change and its deletion not.
    assert kinds(published, "shop:products") == ["product_created", "product_updated"]
    created = next(m for name, m in published if name == own)["payload"]
    assert created["price"] == "25.00" and created["product_id"] == product["id"]

    draft_event, _ = await make_event(runtime, shop.organizer.user, publish=False)
    published.clear()
    await create_product(client, shop.organizer, event_id=str(draft_event))
    assert kinds(published, "shop:products") == []


async def test_categories_and_stock_movements_are_announced(
    client: httpx.AsyncClient, shop: Shop, published: Sent
) -> None:
    made = await client.post(CATEGORIES, json={"name": "Hats"}, headers=shop.organizer.headers)
    path = f"{CATEGORIES}/{made.json()['id']}"
    await client.put(path, json={"position": 3}, headers=shop.organizer.headers)
    await client.delete(path, headers=shop.organizer.headers)
    assert kinds(published, "shop:categories") == [
        "category_created",
        "category_updated",
        "category_deleted",
    ]

    product = await shirt(client, shop.organizer)
    published.clear()
    await client.post(
        f"{PRODUCTS}/{product['id']}/stock",
        json={"change": 4, "reason": "restock", "options": {"size": "S", "colour": "red"}},
        headers=shop.organizer.headers,
    )
    [(_, message)] = [(n, m) for n, m in published if n == "shop:inventory"]
    assert message["type"] == "inventory_updated"
    assert message["payload"] == {
        "product_id": product["id"],
        "options": {"colour": "red", "size": "S"},
        "change": 4,
        "quantity": 4,
        "reason": "restock",
    }


async def test_nothing_is_sent_before_the_commit_nor_after_a_rollback(
    runtime: Runtime, shop: Shop, published: Sent
) -> None:
    async with runtime.unit_of_work() as uow:
        await service.create_category(uow, shop.organizer.actor, CategoryCreate(name="Mugs"))
        assert published == []
    assert kinds(published, "shop:categories") == ["category_created"]

    published.clear()
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            await service.create_category(uow, shop.organizer.actor, CategoryCreate(name="Cups"))
            raise RuntimeError("the request failed after the change")
    assert published == []


async def test_making_many_products_unavailable_at_once_is_one_message(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, published: Sent
) -> None:
    ids = [uuid.UUID((await create_product(client, shop.organizer))["id"]) for _ in range(3)]
    theirs = uuid.UUID((await create_product(client, shop.rival))["id"])
    published.clear()
    async with runtime.unit_of_work() as uow:
        changed = await service.set_products_available(
            uow, shop.organizer.actor, [*ids, theirs], is_available=False
        )
    assert changed == sorted(ids)
    [(_, message)] = [(n, m) for n, m in published if n == "shop:products"]
    assert message["type"] == "products_bulk_status_changed"
    assert message["payload"] == {
        "product_ids": [str(i) for i in sorted(ids)],
        "is_available": False,
    }
    listed = await client.get(PRODUCTS)
    assert [p["id"] for p in listed.json()["data"]] == [str(theirs)]


async def test_who_may_read_the_shop_topics(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    public = await create_product(client, shop.organizer)
    hidden = await create_product(client, shop.organizer, is_available=False)
    async with runtime.unit_of_work(readonly=True) as uow:
        for actor in (ANONYMOUS, shop.customer.actor):
            await registry.authorize(
                uow, actor, ["shop:products", "shop:categories", f"shop:products:{public['id']}"]
            )
            for name in (f"shop:products:{hidden['id']}", "shop:inventory"):
                with pytest.raises(TopicForbidden):
                    await registry.authorize(uow, actor, [name])
        await registry.authorize(uow, shop.organizer.actor, [f"shop:products:{hidden['id']}"])
        with pytest.raises(TopicForbidden):
            await registry.authorize(uow, shop.organizer.actor, ["shop:inventory"])
        await registry.authorize(
            uow, shop.admin.actor, ["shop:inventory", f"shop:products:{hidden['id']}"]
        )
