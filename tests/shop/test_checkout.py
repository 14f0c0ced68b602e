"""Cart checkout: a cart's tickets and products become one order through the purchase pipeline,
stock is taken with the seats and given back by every path that gives seats back, and the books
keep products on their own revenue account."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from admitone.activity.models import ActivityEntry
from admitone.jobs.worker import drain
from admitone.ledger.chart import AccountCode
from admitone.ledger.models import JournalLine, LedgerAccount
from admitone.payments.fake import FakeGateway
from admitone.posts.models import Coupon
from admitone.runtime import Runtime
from admitone.shop.models import Cart, StockAdjustment, StockCounter
from admitone.shop.options import options_key
from admitone.ticketing import books
from admitone.ticketing.models import Order, OrderLine
from tests.posts.conftest import create_coupon
from tests.shop.conftest import CARTS, Shop, add, guest_cart, make_event, shirt
from tests.support.envelope import assert_envelope
from tests.support.reads import counters

RED_M = {"size": "M", "colour": "red"}


@pytest.fixture
def gateway(runtime: Runtime) -> FakeGateway:
    assert isinstance(runtime.gateway, FakeGateway)
    return runtime.gateway


def checkout_url(cart_id: str) -> str:
    return f"{CARTS}/{cart_id}/checkout"


GUEST = {"order": {"customer_email": "guest@example.com", "customer_name": "Guest"}}


async def stock(runtime: Runtime, product_id: str, choice: dict[str, str] | None = None) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        found = await uow.session.scalar(
            select(StockCounter.quantity).where(
                StockCounter.product_id == uuid.UUID(product_id),
                StockCounter.options_key == options_key(choice or {}),
            )
        )
    return found or 0


async def moves(runtime: Runtime, order_id: str) -> list[tuple[str, int]]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.execute(
            select(StockAdjustment.reason, StockAdjustment.change)
            .where(StockAdjustment.order_id == uuid.UUID(order_id))
            .order_by(StockAdjustment.created_at, StockAdjustment.change)
        )
    return [(reason, change) for reason, change in rows.all()]


async def cart_status(runtime: Runtime, cart_id: str) -> str:
    async with runtime.unit_of_work(readonly=True) as uow:
        status = await uow.session.scalar(select(Cart.status).where(Cart.id == uuid.UUID(cart_id)))
    assert status is not None
    return status


async def product_line(client: httpx.AsyncClient, cart_id: str, headers: dict[str, str]) -> str:
    """``items.N`` of the cart's product line, as the cart lists its lines."""
    cart = (await client.get(f"{CARTS}/{cart_id}", headers=headers)).json()
    [index] = [n for n, item in enumerate(cart["items"]) if item.get("product_id")]
    return f"items.{index}"


async def filled_guest_cart(
    client: httpx.AsyncClient, shop: Shop, product: dict[str, Any], *, shirts: int = 2
) -> tuple[str, dict[str, str]]:
    cart_id, token = await guest_cart(client)
    ticket = await add(client, cart_id, token, tier_id=str(shop.tier_ids[0]), quantity=1)
    assert ticket.status_code == 201, ticket.text
    line = await add(
        client, cart_id, token, product_id=product["id"], quantity=shirts, options=RED_M
    )
    assert line.status_code == 201, line.text
    return cart_id, token


async def test_a_guest_checks_out_tickets_and_a_product_with_options_as_one_paid_order(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, token = await filled_guest_cart(client, shop, product)

    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "paid"
    assert order["event_id"] == str(shop.event_id)
    assert order["total"] == "100.00"  # a 50.00 ticket and two 25.00 shirts
    assert order["quantity"] == 1 and len(order["tickets"]) == 1
    kinds = {line["kind"]: line for line in order["items"]}
    assert kinds["ticket"]["tier_id"] == str(shop.tier_ids[0])
    assert kinds["product"] == {
        "kind": "product",
        "tier_id": None,
        "tier_name": None,
        "product_id": product["id"],
        "product_name": "Tour shirt",
        "options": {"colour": "red", "size": "M"},
        "quantity": 2,
        "unit_price": "25.00",
        "discount": "0.00",
        "tax_rate": None,
        "net": "50.00",
        "tax": "0.00",
        "gross": "50.00",
    }
    assert order["access_token"]
    assert await stock(runtime, product["id"], RED_M) == 3
    assert await moves(runtime, order["id"]) == [("sale", -2)]
    assert await cart_status(runtime, cart_id) == "checked_out"
    async with runtime.unit_of_work(readonly=True) as uow:
        closed = await uow.session.scalar(
            select(ActivityEntry).where(ActivityEntry.action == "shop.cart_checked_out")
        )
    assert closed is not None and closed.resource_uuid == uuid.UUID(cart_id)
    assert (await counters(runtime, shop.event_id)).event == 1
    again = await add(client, cart_id, token, tier_id=str(shop.tier_ids[0]), quantity=1)
    assert_envelope(again, 409, "cart_not_open")


async def test_a_signed_in_buyer_checks_out_as_their_account_at_the_price_as_sold(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer)  # of no event: rides along with the tickets
    headers = shop.customer.headers
    made = await client.post(CARTS, headers=headers)
    cart_id = made.json()["id"]
    await add(client, cart_id, headers, tier_id=str(shop.tier_ids[1]), quantity=2)
    xl = {"size": "XL", "colour": "blue"}
    await add(client, cart_id, headers, product_id=product["id"], quantity=1, options=xl)

    response = await client.post(checkout_url(cart_id), json={"order": {}}, headers=headers)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["customer_email"] == shop.customer.user.email
    assert order["customer_name"] == shop.customer.user.name
    assert order["total"] == "87.00"  # two 30.00 tickets and a 27.00 XL shirt
    changed = await client.put(
        f"/api/shop/products/{product['id']}",
        json={"price": "99.00"},
        headers=shop.organizer.headers,
    )
    assert changed.status_code == 200, changed.text
    async with runtime.unit_of_work(readonly=True) as uow:
        line = await uow.session.scalar(
            select(OrderLine).where(
                OrderLine.order_id == uuid.UUID(order["id"]), OrderLine.product_id.is_not(None)
            )
        )
    assert line is not None
    assert (line.unit_price, line.product_name, line.options) == (2700, "Tour shirt", xl)


async def test_a_replay_with_the_same_idempotency_key_answers_the_same_order(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, token = await filled_guest_cart(client, shop, product)
    headers = {**token, "Idempotency-Key": "checkout-1"}

    first = await client.post(checkout_url(cart_id), json=GUEST, headers=headers)
    again = await client.post(checkout_url(cart_id), json=GUEST, headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert await stock(runtime, product["id"], RED_M) == 3
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 1
    without_key = await client.post(checkout_url(cart_id), json=GUEST, headers=token)
    assert_envelope(without_key, 409, "cart_not_open")


async def test_too_little_stock_names_the_cart_line_and_takes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, token = await filled_guest_cart(client, shop, product, shirts=6)  # 5 red M left

    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)

    body = assert_envelope(response, 409, "insufficient_stock")
    assert body["details"]["field"] == await product_line(client, cart_id, token)
    assert body["details"]["available"] == 5 and body["details"]["requested"] == 6
    assert await stock(runtime, product["id"], RED_M) == 5
    assert (await counters(runtime, shop.event_id)).event == 0
    assert await cart_status(runtime, cart_id) == "open"
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 0


async def test_a_product_deleted_after_it_went_in_the_cart_is_refused_by_its_line(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, token = await filled_guest_cart(client, shop, product)
    deleted = await client.delete(
        f"/api/shop/products/{product['id']}", headers=shop.organizer.headers
    )
    assert deleted.status_code == 204, deleted.text

    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)

    body = assert_envelope(response, 404, "shop_product_not_found")
    assert body["details"]["field"] == f"{await product_line(client, cart_id, token)}.product_id"
    assert (await counters(runtime, shop.event_id)).event == 0
    assert await cart_status(runtime, cart_id) == "open"


async def test_another_carts_token_an_empty_cart_and_a_cart_without_tickets_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, _ = await filled_guest_cart(client, shop, product)
    other_id, other_token = await guest_cart(client)

    stranger = await client.post(checkout_url(cart_id), json=GUEST, headers=other_token)
    assert_envelope(stranger, 404, "cart_not_found")
    empty = await client.post(checkout_url(other_id), json=GUEST, headers=other_token)
    assert_envelope(empty, 422, "cart_empty")
    await add(client, other_id, other_token, product_id=product["id"], quantity=1, options=RED_M)
    products_only = await client.post(checkout_url(other_id), json=GUEST, headers=other_token)
    assert_envelope(products_only, 422, "cart_needs_tickets")
    assert await stock(runtime, product["id"], RED_M) == 5


async def test_a_cart_with_tickets_of_two_events_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    _, other_tiers = await make_event(runtime, shop.organizer.user)
    cart_id, token = await guest_cart(client)
    await add(client, cart_id, token, tier_id=str(shop.tier_ids[0]), quantity=1)
    await add(client, cart_id, token, tier_id=str(other_tiers[0]), quantity=1)

    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)

    assert_envelope(response, 422, "cart_mixed_events")


async def pending_checkout(
    client: httpx.AsyncClient, shop: Shop, gateway: FakeGateway, product: dict[str, Any]
) -> str:
    gateway.default_payment_method = None  # the order waits for the buyer's payment
    cart_id, token = await filled_guest_cart(client, shop, product)
    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    order_id: str = response.json()["id"]
    return order_id


async def test_an_expired_checkout_gives_its_stock_back(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, gateway: FakeGateway, clock: Any
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    order_id = await pending_checkout(client, shop, gateway, product)
    assert await stock(runtime, product["id"], RED_M) == 3

    clock.advance(minutes=16)
    await drain(runtime)

    assert await stock(runtime, product["id"], RED_M) == 5
    assert await moves(runtime, order_id) == [("sale", -2), ("release", 2)]
    assert (await counters(runtime, shop.event_id)).event == 0


async def test_a_cancelled_pending_checkout_gives_its_stock_back(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, gateway: FakeGateway
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    gateway.default_payment_method = None
    cart_id, token = await filled_guest_cart(client, shop, product)
    placed = (await client.post(checkout_url(cart_id), json=GUEST, headers=token)).json()

    response = await client.post(
        f"/api/orders/{placed['id']}/cancel",
        json={},
        params={"token": placed["access_token"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert await stock(runtime, product["id"], RED_M) == 5
    assert await moves(runtime, placed["id"]) == [("sale", -2), ("release", 2)]


async def test_a_failed_payment_gives_the_stock_back(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, gateway: FakeGateway
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    gateway.set_failure_mode("timeout")
    cart_id, token = await filled_guest_cart(client, shop, product)

    response = await client.post(checkout_url(cart_id), json=GUEST, headers=token)

    assert_envelope(response, 402, "payment_failed")
    order_id = response.json()["details"]["order_id"]
    assert await stock(runtime, product["id"], RED_M) == 5
    assert await moves(runtime, order_id) == [("sale", -2), ("release", 2)]


async def revenue(runtime: Runtime, event_id: uuid.UUID) -> dict[str, int]:
    """Each account of the event: debits minus credits."""
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.execute(
            select(LedgerAccount.code, func.sum(JournalLine.debit - JournalLine.credit))
            .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
            .where(LedgerAccount.event_id == event_id)
            .group_by(LedgerAccount.code)
        )
    return {code: int(balance) for code, balance in rows.all()}


async def test_products_post_to_their_own_revenue_and_a_refund_reverses_them(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, gateway: FakeGateway
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    cart_id, token = await filled_guest_cart(client, shop, product)
    placed = (await client.post(checkout_url(cart_id), json=GUEST, headers=token)).json()
    assert placed["status"] == "paid"

    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.TICKET_REVENUE] == -5000
    assert books[AccountCode.PRODUCT_REVENUE] == -5000
    async with runtime.unit_of_work(readonly=True) as uow:
        debits, credits = (
            await uow.session.execute(
                select(func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            )
        ).one()
    assert debits == credits

    response = await client.post(
        f"/api/orders/{placed['id']}/cancel",
        json={},
        params={"token": placed["access_token"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"

    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.PRODUCT_REVENUE] == 0
    assert books[AccountCode.REFUNDS] == 5000
    assert books[AccountCode.TICKET_REVENUE] == -5000
    assert await stock(runtime, product["id"], RED_M) == 5
    assert await moves(runtime, placed["id"]) == [("sale", -2), ("refund", 2)]
    assert gateway.net_captured() == 0


async def test_the_purchase_route_sells_products_of_the_event_with_a_coupon_on_them(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    await create_coupon(
        client, shop.organizer, percent_off="10", scope="products", product_ids=[product["id"]]
    )
    body: dict[str, Any] = {
        "order": {
            **GUEST["order"],
            "items": [{"tier_id": str(shop.tier_ids[0]), "quantity": 1}],
            "products": [{"product_id": product["id"], "quantity": 1, "options": RED_M}],
            "coupon_code": "SUMMER",
        }
    }

    response = await client.post(f"/api/events/{shop.event_id}/purchase", json=body)

    assert response.status_code == 201, response.text
    # 50.00 for the ticket, 25.00 for the shirt less the coupon's 10 % of it
    assert response.json()["discount"] == "2.50"
    assert response.json()["total"] == "72.50"
    lines = response.json()["items"]
    assert [(line["kind"], line["discount"]) for line in lines] == [
        ("ticket", "0.00"),
        ("product", "2.50"),
    ]
    assert await stock(runtime, product["id"], RED_M) == 4
    body["order"]["products"][0]["quantity"] = 5
    body["order"]["customer_email"] = "another@example.com"
    short = await client.post(f"/api/events/{shop.event_id}/purchase", json=body)
    assert assert_envelope(short, 409, "insufficient_stock")["details"]["field"] == (
        "order.products.0"
    )


async def test_a_coupon_at_checkout_books_each_revenue_net_of_its_share_and_a_refund_reverses_it(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    product = await shirt(client, shop.organizer, event_id=str(shop.event_id))
    await create_coupon(client, shop.organizer, percent_off="10")  # the whole order
    cart_id, token = await filled_guest_cart(client, shop, product)
    body = {"order": {**GUEST["order"], "coupon_code": "summer"}}

    placed = (await client.post(checkout_url(cart_id), json=body, headers=token)).json()

    assert (placed["status"], placed["discount"], placed["total"]) == ("paid", "10.00", "90.00")
    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.TICKET_REVENUE] == -4500
    assert books[AccountCode.PRODUCT_REVENUE] == -4500
    cancelled = await client.post(
        f"/api/orders/{placed['id']}/cancel", json={}, params={"token": placed["access_token"]}
    )
    assert cancelled.json()["status"] == "refunded", cancelled.text
    books = await revenue(runtime, shop.event_id)
    assert books[AccountCode.PRODUCT_REVENUE] == 0
    assert books[AccountCode.REFUNDS] == 4500
    async with runtime.unit_of_work(readonly=True) as uow:
        uses = await uow.session.scalar(select(Coupon.uses))
    assert uses == 0  # the refunded order gave its use back


async def test_a_product_of_another_organizer_is_not_sold_with_the_event(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    theirs = await shirt(client, shop.rival)
    body = {
        "order": {
            **GUEST["order"],
            "quantity": 1,
            "products": [{"product_id": theirs["id"], "quantity": 1, "options": RED_M}],
        }
    }

    response = await client.post(f"/api/events/{shop.event_id}/purchase", json=body)

    refused = assert_envelope(response, 422, "product_not_sold_with_event")
    assert refused["details"]["field"] == "order.products.0.product_id"


def test_partial_refunds_take_the_products_share_back_in_proportion_and_exactly_in_full() -> None:
    order = Order(total_amount=10_000, refunded_amount=0, tax_total=0)
    order.lines = [
        OrderLine(tier_id=uuid.uuid4(), quantity=1, unit_price=7_000, net=7_000, gross=7_000),
        OrderLine(product_id=uuid.uuid4(), quantity=3, unit_price=1_000, net=3_000, gross=3_000),
    ]
    shares = []
    for amount in (3_333, 3_333, 3_334):
        shares.append(books._refund_shares(order, amount)["products"])
        order.refunded_amount += amount
    assert shares == [999, 1_000, 1_001]
    assert sum(shares) == books.products_total(order) == 3_000
