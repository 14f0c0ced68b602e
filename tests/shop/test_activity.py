"""What the shop writes to the activity log: who did what to which resource, nothing personal."""

from __future__ import annotations

import httpx

from admitone.runtime import Runtime
from tests.activity.conftest import entries
from tests.shop.conftest import PRODUCTS, Shop, add, create_product, guest_cart


async def test_shop_actions_are_logged_with_ids_and_codes_only(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await create_product(
        client, shop.organizer, stock_tracking="product", stock=2, event_id=str(shop.event_id)
    )
    await client.post(
        f"{PRODUCTS}/{product['id']}/stock",
        json={"change": -1, "reason": "correction"},
        headers=shop.organizer.headers,
    )
    cart_id, token = await guest_cart(client)
    await add(client, cart_id, token, product_id=product["id"], quantity=2)

    shop_entries = [e for e in await entries(runtime) if e.action.startswith("shop.")]
    by_action = {e.action: e for e in shop_entries}
    assert sorted(by_action) == [
        "shop.cart_created",
        "shop.cart_item_added",
        "shop.product_created",
        "shop.stock_adjusted",
    ]
    created, adjusted = by_action["shop.product_created"], by_action["shop.stock_adjusted"]
    added = by_action["shop.cart_item_added"]
    assert created.actor_uuid == shop.organizer.user.id
    assert created.meta == {
        "status": "available",
        "currency": "USD",
        "amount": 2500,
        "event_uuid": str(shop.event_id),
    }
    assert adjusted.meta == {
        "reason": "correction",
        "kind": "decrease",
        "quantity": 1,
        "new_quantity": 1,
    }
    assert added.actor_role == "anonymous"
    assert added.meta == {"quantity": 2, "product_uuid": product["id"]}
    assert str(added.resource_uuid) == cart_id
    assert all(token["X-Cart-Token"] not in str(e.meta) for e in shop_entries)
