"""Coupons over the API: an organizer's own, codes unique per organizer whatever their case,
bad input refused with the field at fault."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.posts.conftest import COUPONS, Seller, coupon_body, create_coupon
from tests.support.envelope import assert_envelope


async def test_an_organizer_creates_reads_changes_lists_and_removes_a_coupon(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    who = seller.organizer
    coupon = await create_coupon(
        client,
        who,
        "Spring-10",
        usage_limit=10,
        per_buyer_limit=1,
        scope="tiers",
        tier_ids=[str(seller.event.tier_ids[1])],
        ends_at="2026-08-01T00:00:00Z",
    )
    assert coupon["code"] == "Spring-10"
    assert (coupon["kind"], coupon["percent_off"], coupon["amount_off"]) == (
        "percent",
        "12.50",
        None,
    )
    assert (coupon["usage_limit"], coupon["uses"], coupon["per_buyer_limit"]) == (10, 0, 1)
    assert coupon["tier_ids"] == [str(seller.event.tier_ids[1])] and coupon["product_ids"] == []
    url = f"{COUPONS}/{coupon['id']}"

    assert (await client.get(url, headers=who.headers)).json() == coupon
    changed = await client.put(url, json={"usage_limit": 20, "ends_at": None}, headers=who.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["usage_limit"], changed.json()["ends_at"]) == (20, None)
    assert changed.json()["per_buyer_limit"] == 1  # left out: kept

    listed = await client.get(COUPONS, headers=who.headers)
    assert [c["id"] for c in listed.json()["data"]] == [coupon["id"]]
    assert (await client.get(COUPONS, headers=seller.rival.headers)).json()["data"] == []

    assert (await client.delete(url, headers=who.headers)).status_code == 204
    assert (await client.get(url, headers=who.headers)).status_code == 404
    # Its code is free again.
    await create_coupon(client, who, "SPRING-10")


async def test_a_fixed_coupon_is_an_amount_in_its_currency(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    coupon = await create_coupon(
        client, seller.organizer, kind="fixed", percent_off=None, amount_off="5", currency="usd"
    )
    assert (coupon["amount_off"], coupon["currency"], coupon["percent_off"]) == (
        "5.00",
        "USD",
        None,
    )


async def test_a_code_is_unique_per_organizer_whatever_its_case(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    await create_coupon(client, seller.organizer, "Summer")

    again = await client.post(COUPONS, json=coupon_body("sUMMER"), headers=seller.organizer.headers)

    assert_envelope(again, 409, "coupon_code_taken")
    assert again.json()["details"]["field"] == "code"
    await create_coupon(client, seller.rival, "SUMMER")  # another organizer's codes are theirs


async def test_another_organizers_coupon_is_not_found(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    coupon = await create_coupon(client, seller.organizer)
    url = f"{COUPONS}/{coupon['id']}"
    for call in (client.get, client.delete):
        assert_envelope(await call(url, headers=seller.rival.headers), 404, "coupon_not_found")
    refused = await client.put(url, json={"usage_limit": 1}, headers=seller.rival.headers)
    assert_envelope(refused, 404, "coupon_not_found")
    customer = await client.get(url, headers=seller.customer.headers)
    assert customer.status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"percent_off": "0"}, "percent_off", "validation_error"),
        ({"percent_off": "100.01"}, "percent_off", "validation_error"),
        ({"percent_off": "12.345"}, "percent_off", "validation_error"),
        ({"percent_off": "9e999999"}, "percent_off", "validation_error"),
        ({"percent_off": None}, "percent_off", "validation_error"),
        ({"currency": "USD"}, "amount_off", "validation_error"),
        ({"kind": "fixed", "percent_off": None, "amount_off": "5"}, "currency", "validation_error"),
        (
            {"kind": "fixed", "percent_off": None, "amount_off": "0", "currency": "USD"},
            "amount_off",
            "validation_error",
        ),
        (
            {"kind": "fixed", "percent_off": None, "amount_off": "5.001", "currency": "USD"},
            "amount_off",
            "validation_error",
        ),
        (
            {"starts_at": "2026-08-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z"},
            "ends_at",
            "validation_error",
        ),
        ({"scope": "tiers"}, "tier_ids", "validation_error"),
        ({"tier_ids": ["00000000-0000-4000-8000-000000000001"]}, "scope", "validation_error"),
        (
            {"scope": "products", "product_ids": ["00000000-0000-4000-8000-000000000001"]},
            "product_ids.0",
            "coupon_invalid_target",
        ),
        ({"post_id": "00000000-0000-4000-8000-000000000001"}, "post_id", "coupon_invalid_target"),
    ],
)
async def test_bad_coupon_input_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    seller: Seller,
    *,
    changes: dict[str, Any],
    field: str,
    code: str,
) -> None:
    response = await client.post(
        COUPONS, json=coupon_body(**changes), headers=seller.organizer.headers
    )
    assert_envelope(response, 422, code)
    assert response.json()["details"]["field"] == field


async def test_a_coupon_cannot_name_another_organizers_tier(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    response = await client.post(
        COUPONS,
        json=coupon_body(scope="tiers", tier_ids=[str(seller.event.tier_ids[0])]),
        headers=seller.rival.headers,
    )
    assert_envelope(response, 422, "coupon_invalid_target")
    assert response.json()["details"]["field"] == "tier_ids.0"


async def test_shape_errors_are_the_bodys_422(client: httpx.AsyncClient, seller: Seller) -> None:
    for body in (
        coupon_body("a b"),
        coupon_body("x" * 51),
        coupon_body(kind="half"),
        coupon_body(usage_limit=0),
        coupon_body(starts_at=datetime(2026, 1, 1).isoformat()),  # naive
        {**coupon_body(), "extra": 1},
    ):
        response = await client.post(COUPONS, json=body, headers=seller.organizer.headers)
        assert response.status_code == 422, (body, response.text)
