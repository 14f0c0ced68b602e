"""Categories and products: who may do what, what anyone sees, and bad input refused whole."""

from __future__ import annotations

import uuid

import httpx

from admitone.runtime import Runtime
from tests.shop.conftest import (
    CATEGORIES,
    COLOURS,
    PRODUCTS,
    SIZES,
    Shop,
    create_product,
    make_event,
    product_body,
    shirt,
)


async def test_an_organizer_builds_a_category_tree_and_anyone_reads_it(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = shop.organizer.headers
    clothes = await client.post(CATEGORIES, json={"name": "Clothes & Co"}, headers=headers)
    assert clothes.status_code == 201, clothes.text
    assert clothes.json()["slug"] == "clothes-co"
    shirts = await client.post(
        CATEGORIES,
        json={"name": "Shirts", "parent_id": clothes.json()["id"], "position": 2},
        headers=headers,
    )
    assert shirts.status_code == 201, shirts.text
    assert shirts.json()["parent_id"] == clothes.json()["id"]

    listed = await client.get(CATEGORIES, params={"organizer_id": shop.organizer.id})
    assert {c["name"] for c in listed.json()["data"]} == {"Clothes & Co", "Shirts"}
    one = await client.get(f"{CATEGORIES}/{shirts.json()['id']}")
    assert one.status_code == 200 and one.json()["position"] == 2

    # Its own descendant cannot become its parent.
    loop = await client.put(
        f"{CATEGORIES}/{clothes.json()['id']}",
        json={"parent_id": shirts.json()["id"]},
        headers=headers,
    )
    assert loop.status_code == 422
    assert loop.json()["error"] == "shop_invalid_category_parent"
    assert loop.json()["details"]["field"] == "parent_id"

    gone = await client.delete(f"{CATEGORIES}/{clothes.json()['id']}", headers=headers)
    assert gone.status_code == 204
    orphan = await client.get(f"{CATEGORIES}/{shirts.json()['id']}")
    assert orphan.json()["parent_id"] is None


async def test_a_slug_is_unique_per_organizer_only(client: httpx.AsyncClient, shop: Shop) -> None:
    body = {"name": "Posters", "slug": "posters"}
    first = await client.post(CATEGORIES, json=body, headers=shop.organizer.headers)
    assert first.status_code == 201
    again = await client.post(CATEGORIES, json=body, headers=shop.organizer.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "shop_category_slug_taken"
    other = await client.post(CATEGORIES, json=body, headers=shop.rival.headers)
    assert other.status_code == 201


async def test_someone_elses_category_is_not_found_and_customers_cannot_create(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    mine = await client.post(CATEGORIES, json={"name": "Mine"}, headers=shop.organizer.headers)
    path = f"{CATEGORIES}/{mine.json()['id']}"
    changed = await client.put(path, json={"name": "Theirs"}, headers=shop.rival.headers)
    assert changed.status_code == 404
    assert changed.json()["error"] == "shop_category_not_found"
    assert (await client.delete(path, headers=shop.rival.headers)).status_code == 404
    by_staff = await client.put(path, json={"name": "Moderated"}, headers=shop.admin.headers)
    assert by_staff.status_code == 200
    refused = await client.post(CATEGORIES, json={"name": "X"}, headers=shop.customer.headers)
    assert refused.status_code == 403


async def test_a_product_with_options_and_stock_per_combination(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    assert product["price"] == "25.00"
    assert product["currency"] == "USD"
    assert product["event_id"] == str(shop.event_id)
    assert product["stock_tracking"] == "options"
    assert product["stock"] is None
    assert {
        (tuple(sorted(s["options"].items())), s["quantity"]) for s in product["stock_by_options"]
    } == {
        ((("colour", "red"), ("size", "M")), 5),
        ((("colour", "blue"), ("size", "XL")), 2),
    }
    sizes = next(o for o in product["options"] if o["name"] == "size")
    assert [v["price_modifier"] for v in sizes["values"]] == ["0.00", "0.00", "2.00"]


async def test_what_anyone_sees_and_what_only_the_organizer_and_staff_see(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    draft_event, _ = await make_event(runtime, shop.organizer.user, publish=False)
    public = await create_product(client, shop.organizer, name="Public")
    of_event = await create_product(client, shop.organizer, event_id=str(shop.event_id))
    hidden = await create_product(client, shop.organizer, name="Hidden", is_available=False)
    of_draft = await create_product(client, shop.organizer, event_id=str(draft_event))

    def ids(response: httpx.Response) -> set[str]:
        return {p["id"] for p in response.json()["data"]}

    everyone = {public["id"], of_event["id"]}
    assert ids(await client.get(PRODUCTS)) == everyone
    assert ids(await client.get(PRODUCTS, headers=shop.rival.headers)) == everyone
    all_four = everyone | {hidden["id"], of_draft["id"]}
    assert ids(await client.get(PRODUCTS, headers=shop.organizer.headers)) == all_four
    assert ids(await client.get(PRODUCTS, headers=shop.admin.headers)) == all_four

    for secret in (hidden, of_draft):
        assert (await client.get(f"{PRODUCTS}/{secret['id']}")).status_code == 404
        seen = await client.get(f"{PRODUCTS}/{secret['id']}", headers=shop.rival.headers)
        assert seen.status_code == 404 and seen.json()["error"] == "shop_product_not_found"
        own = await client.get(f"{PRODUCTS}/{secret['id']}", headers=shop.organizer.headers)
        assert own.status_code == 200


async def test_products_are_listed_by_event_and_category_a_page_at_a_time(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    category = await client.post(CATEGORIES, json={"name": "Merch"}, headers=shop.organizer.headers)
    category_id = category.json()["id"]
    made = [
        await create_product(
            client,
            shop.organizer,
            name=f"Item {i}",
            event_id=str(shop.event_id),
            category_id=category_id if i % 2 else None,
        )
        for i in range(5)
    ]
    await create_product(client, shop.organizer, name="Not of the event")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"event_id": str(shop.event_id), "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(PRODUCTS, params=params)).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p["id"] for p in made)
    assert len(seen) == len(set(seen))

    by_category = await client.get(PRODUCTS, params={"category": category_id})
    assert {p["id"] for p in by_category.json()["data"]} == {made[1]["id"], made[3]["id"]}
    forged = await client.get(PRODUCTS, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert forged.status_code == 422


async def test_changing_and_soft_deleting_a_product(client: httpx.AsyncClient, shop: Shop) -> None:
    product = await create_product(client, shop.organizer)
    path = f"{PRODUCTS}/{product['id']}"
    changed = await client.put(
        path, json={"price": "30.00", "name": "Better shirt"}, headers=shop.organizer.headers
    )
    assert changed.status_code == 200
    assert (changed.json()["price"], changed.json()["name"]) == ("30.00", "Better shirt")
    foreign = await client.put(path, json={"price": "1.00"}, headers=shop.rival.headers)
    assert foreign.status_code == 404
    assert (await client.delete(path, headers=shop.rival.headers)).status_code == 404

    assert (await client.delete(path, headers=shop.organizer.headers)).status_code == 204
    assert (await client.get(path, headers=shop.organizer.headers)).status_code == 404
    assert (await client.delete(path, headers=shop.organizer.headers)).status_code == 404
    listed = await client.get(PRODUCTS, headers=shop.admin.headers)
    assert product["id"] not in {p["id"] for p in listed.json()["data"]}


async def test_bad_products_are_refused_naming_the_field_and_nothing_is_made(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    rival_event, _ = await make_event(runtime, shop.rival.user)
    euro_event, _ = await make_event(runtime, shop.organizer.user, currency="EUR")
    rival_category = await client.post(
        CATEGORIES, json={"name": "Theirs"}, headers=shop.rival.headers
    )
    cases = [
        (product_body(price="0.00"), "shop_invalid_price", "price"),
        (product_body(price="-5.00"), "shop_invalid_price", "price"),
        (product_body(price="1.001"), "shop_invalid_price", "price"),
        (product_body(event_id=str(rival_event)), "shop_unknown_event", "event_id"),
        (product_body(event_id=str(uuid.uuid4())), "shop_unknown_event", "event_id"),
        (
            product_body(event_id=str(euro_event), currency="USD"),
            "shop_currency_mismatch",
            "currency",
        ),
        (
            product_body(category_id=rival_category.json()["id"]),
            "shop_unknown_category",
            "category_id",
        ),
        (product_body(stock=4), "shop_invalid_stock", "stock"),
        (product_body(stock_tracking="options"), "shop_invalid_stock", "stock_tracking"),
        (
            product_body(
                options=[SIZES, COLOURS],
                stock_tracking="options",
                stock_by_options=[{"options": {"size": "XXL", "colour": "red"}, "quantity": 1}],
            ),
            "shop_invalid_options",
            "stock_by_options.0.options.size",
        ),
        (
            product_body(options=[SIZES, {**SIZES}]),
            "validation_error",
            "options",
        ),
        (
            product_body(
                options=[{"name": "size", "values": [{"value": "S", "price_modifier": "-1"}]}]
            ),
            "shop_invalid_price",
            "options.0.values.0.price_modifier",
        ),
    ]
    for body, code, field in cases:
        response = await client.post(PRODUCTS, json=body, headers=shop.organizer.headers)
        assert response.status_code == 422, (body, response.text)
        assert (response.json()["error"], response.json()["details"]["field"]) == (code, field)
    zero = await client.post(
        PRODUCTS,
        json=product_body(stock=-1, stock_tracking="product"),
        headers=shop.organizer.headers,
    )
    assert zero.status_code == 422 and zero.json()["details"]["fields"]
    listed = await client.get(PRODUCTS, headers=shop.admin.headers)
    assert listed.json()["data"] == []
