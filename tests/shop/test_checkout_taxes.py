"""Taxes on a cart checkout: a product with its own rate, tickets at the event's default, a
coupon taken off before tax, the ledger splitting revenue from tax owed."""

from __future__ import annotations

from typing import Any

import httpx

from admitone.ledger.chart import AccountCode
from admitone.runtime import Runtime
from tests.posts.conftest import create_coupon
from tests.shop.conftest import Shop, shirt
from tests.shop.test_checkout import GUEST, checkout_url, filled_guest_cart, revenue

VAT = {"name": "VAT", "percent": "20.00", "inclusive": True}
SALES_TAX = {"name": "Sales tax", "percent": "10", "inclusive": False}


async def default_rate(client: httpx.AsyncClient, shop: Shop, rate: dict[str, Any]) -> None:
    response = await client.put(
        f"/api/events/{shop.event_id}",
        json={"event": {"default_tax_rate": rate}},
        headers=shop.organizer.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["default_tax_rate"] == {**rate, "percent": "20.00"}


async def test_a_checkout_taxes_each_line_after_its_coupon_share_and_books_the_tax_apart(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    await default_rate(client, shop, VAT)
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id), tax_rate=SALES_TAX)
    assert product["tax_rate"] == {**SALES_TAX, "percent": "10.00"}
    await create_coupon(client, shop.organizer, percent_off="10")  # the whole order
    cart_id, token = await filled_guest_cart(client, shop, product)
    body = {"order": {**GUEST["order"], "coupon_code": "summer"}}

    placed = (await client.post(checkout_url(cart_id), json=body, headers=token)).json()

    # Ticket 50.00 - 5.00 = 45.00 with 20 % VAT inside it (7.50); shirts 50.00 - 5.00 = 45.00
    # net, 10 % sales tax on top (4.50): the buyer pays 94.50.
    assert (placed["status"], placed["discount"], placed["total"]) == ("paid", "10.00", "94.50")
    assert (placed["net"], placed["tax"]) == ("82.50", "12.00")
    ticket, shirts = placed["items"]
    assert (ticket["net"], ticket["tax"], ticket["gross"]) == ("37.50", "7.50", "45.00")
    assert ticket["tax_rate"] == VAT
    assert (shirts["net"], shirts["tax"], shirts["gross"]) == ("45.00", "4.50", "49.50")
    assert [(t["name"], t["percent"], t["net"], t["tax"], t["gross"]) for t in placed["taxes"]] == [
        ("VAT", "20.00", "37.50", "7.50", "45.00"),
        ("Sales tax", "10.00", "45.00", "4.50", "49.50"),
    ]
    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.TICKET_REVENUE] == -3750
    assert books[AccountCode.PRODUCT_REVENUE] == -4500
    assert books[AccountCode.TAX_PAYABLE] == -1200

    cancelled = await client.post(
        f"/api/orders/{placed['id']}/cancel", json={}, params={"token": placed["access_token"]}
    )

    assert cancelled.json()["status"] == "refunded", cancelled.text
    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.TAX_PAYABLE] == 0
    assert books[AccountCode.PRODUCT_REVENUE] == 0
    assert books[AccountCode.REFUNDS] == 3750


async def test_a_product_rate_is_changed_and_cleared_and_a_bad_one_is_refused(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)
    url = f"/api/shop/products/{product['id']}"

    changed = await client.put(url, json={"tax_rate": VAT}, headers=shop.organizer.headers)
    assert changed.json()["tax_rate"] == VAT, changed.text
    cleared = await client.put(url, json={"tax_rate": None}, headers=shop.organizer.headers)
    assert cleared.json()["tax_rate"] is None
    bad = await client.put(
        url, json={"tax_rate": {**VAT, "percent": "100.5"}}, headers=shop.organizer.headers
    )
    assert bad.status_code == 422
    assert bad.json()["details"]["field"] == "tax_rate.percent"
