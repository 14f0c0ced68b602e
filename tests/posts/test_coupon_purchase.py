"""A coupon at purchase: the discount in minor units, rounded down per line; the refusals, which
leave nothing taken; the ledger's revenue net of the discount; the use given back by every way
out of a live order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger_service
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from tests.posts.conftest import (
    Seller,
    buy,
    create_coupon,
    purchase_body,
    redemptions,
    stored_coupon,
)
from tests.support.envelope import assert_envelope
from tests.support.reads import counters
from tests.ticketing.conftest import load_order, orders_of


async def _books(runtime: Runtime, seller: Seller) -> tuple[int, int, bool]:
    """Revenue and refunds of the seller's event, and whether the books balance."""
    async with runtime.unit_of_work(readonly=True) as uow:
        summary = await ledger_service.event_summary(uow, seller.event.id)
        balance = await ledger_service.trial_balance(uow)
    [usd] = summary.currencies
    return usd.revenue, usd.refunds, balance.balanced


async def test_a_percent_coupon_takes_its_share_of_each_line_rounded_down(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    coupon = await create_coupon(client, seller.organizer, "summer", percent_off="12.5")
    a, b = seller.event.tier_ids

    response = await buy(client, seller.event.id, purchase_body([(a, 3), (b, 1)], coupon="SUMMER"))

    assert response.status_code == 201, response.text
    order = response.json()
    # A: 3 x 33.33 = 99.99, 12.5 % = 12.49875 -> 12.49; B: 20.00 -> 2.50.
    assert (order["discount"], order["total"], order["status"]) == ("14.99", "105.00", "paid")
    assert order["coupon_id"] == coupon["id"]
    assert [i["unit_price"] for i in order["items"]] == ["33.33", "20.00"]  # as sold
    assert (await stored_coupon(runtime, coupon["id"])).uses == 1
    [redeemed] = await redemptions(runtime, coupon["id"])
    assert (redeemed.order_id, redeemed.discount_amount) == (uuid.UUID(order["id"]), 1499)
    assert redeemed.released_at is None
    # Revenue is what the buyer paid: net of the discount, and the books balance.
    assert await _books(runtime, seller) == (10500, 0, True)


async def test_a_fixed_coupon_never_makes_a_total_negative(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    await create_coupon(
        client, seller.organizer, kind="fixed", percent_off=None, amount_off="500", currency="USD"
    )
    response = await buy(client, seller.event.id, purchase_body([(seller.event.tier_ids[1], 2)]))

    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["discount"], order["total"], order["status"]) == ("40.00", "0.00", "paid")
    assert len(order["tickets"]) == 2


async def test_a_tiers_coupon_discounts_only_its_tiers(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    a, b = seller.event.tier_ids
    await create_coupon(
        client, seller.organizer, scope="tiers", tier_ids=[str(b)], percent_off="50"
    )

    out = await buy(client, seller.event.id, purchase_body([(a, 1)]))
    assert_envelope(out, 422, "coupon_out_of_scope")
    assert out.json()["details"]["field"] == "order.coupon_code"

    both = await buy(client, seller.event.id, purchase_body([(a, 1), (b, 1)]))
    assert both.status_code == 201, both.text
    assert (both.json()["discount"], both.json()["total"]) == ("10.00", "43.33")


async def test_refused_coupons_leave_nothing_taken(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller, clock: FrozenClock
) -> None:
    now = clock.now()
    await create_coupon(
        client, seller.organizer, "LATER", starts_at=(now + timedelta(days=1)).isoformat()
    )
    await create_coupon(client, seller.organizer, "GONE", ends_at=now.isoformat())
    await create_coupon(
        client,
        seller.organizer,
        "EUROS",
        kind="fixed",
        percent_off=None,
        amount_off="5",
        currency="EUR",
    )
    await create_coupon(client, seller.rival, "RIVAL")
    line = [(seller.event.tier_ids[0], 1)]

    cases = [
        ("LATER", 422, "coupon_not_yet_valid"),
        ("GONE", 422, "coupon_expired"),
        ("EUROS", 422, "coupon_currency_mismatch"),
        ("RIVAL", 422, "coupon_invalid"),  # another organizer's code is as good as unknown
        ("NOSUCH", 422, "coupon_invalid"),
    ]
    for code, status, error in cases:
        refused = await buy(client, seller.event.id, purchase_body(line, coupon=code))
        assert_envelope(refused, status, error)
        assert refused.json()["details"]["field"] == "order.coupon_code"

    assert await orders_of(runtime, seller.event.id) == []
    assert (await counters(runtime, seller.event.id)).event == 0


async def test_a_used_up_coupon_and_a_buyers_limit_are_refused_and_roll_the_order_back(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    once = await create_coupon(client, seller.organizer, "ONCE", usage_limit=1)
    mine = await create_coupon(client, seller.organizer, "MINE", per_buyer_limit=1)
    line = [(seller.event.tier_ids[0], 1)]

    first = await buy(
        client, seller.event.id, purchase_body(line, coupon="once", email="a@example.com")
    )
    assert first.status_code == 201, first.text
    used_up = await buy(
        client, seller.event.id, purchase_body(line, coupon="ONCE", email="b@example.com")
    )
    assert_envelope(used_up, 409, "coupon_used_up")

    mine_first = await buy(
        client, seller.event.id, purchase_body(line, coupon="MINE", email="c@example.com")
    )
    assert mine_first.status_code == 201, mine_first.text
    again = await buy(
        client, seller.event.id, purchase_body(line, coupon="MINE", email="C@example.com")
    )
    assert_envelope(again, 409, "coupon_buyer_limit_reached")
    other = await buy(
        client, seller.event.id, purchase_body(line, coupon="MINE", email="d@example.com")
    )
    assert other.status_code == 201, other.text

    assert (await stored_coupon(runtime, once["id"])).uses == 1
    assert (await stored_coupon(runtime, mine["id"])).uses == 2
    assert len(await orders_of(runtime, seller.event.id)) == 3
    assert (await counters(runtime, seller.event.id)).event == 3


async def test_an_unpaid_order_that_expires_gives_its_coupon_use_back(
    client: httpx.AsyncClient,
    runtime: Runtime,
    seller: Seller,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    gateway.default_payment_method = None  # the buyer never confirms
    coupon = await create_coupon(client, seller.organizer, usage_limit=1)
    pending = await buy(client, seller.event.id, purchase_body([(seller.event.tier_ids[0], 1)]))
    assert pending.json()["status"] == "pending"
    assert (await stored_coupon(runtime, coupon["id"])).uses == 1

    clock.advance(timedelta(minutes=15))
    await drain(runtime)

    assert (await load_order(runtime, pending.json()["id"])).status == "expired"
    assert (await stored_coupon(runtime, coupon["id"])).uses == 0
    [released] = await redemptions(runtime, coupon["id"])
    assert released.released_at == clock.now()
    gateway.default_payment_method = "pm_card_visa"
    again = await buy(
        client,
        seller.event.id,
        purchase_body([(seller.event.tier_ids[0], 1)], email="b@example.com"),
    )
    assert again.status_code == 201, again.text


async def test_a_failed_payment_gives_its_coupon_use_back(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller, gateway: FakeGateway
) -> None:
    coupon = await create_coupon(client, seller.organizer, usage_limit=1)
    gateway.set_failure_mode("unavailable")

    failed = await buy(client, seller.event.id, purchase_body([(seller.event.tier_ids[0], 1)]))

    assert failed.status_code >= 400, failed.text
    [order] = await orders_of(runtime, seller.event.id)
    assert order.status == "failed"
    assert (await stored_coupon(runtime, coupon["id"])).uses == 0
    assert (await counters(runtime, seller.event.id)).event == 0


async def test_cancelling_gives_the_coupon_use_back_and_a_refund_reverses_the_revenue(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller, gateway: FakeGateway
) -> None:
    coupon = await create_coupon(client, seller.organizer, usage_limit=5)
    buyer = seller.customer
    line = [(seller.event.tier_ids[0], 3)]
    gateway.default_payment_method = None
    pending = await buy(client, seller.event.id, purchase_body(line), headers=buyer.headers)
    gateway.default_payment_method = "pm_card_visa"
    paid = await buy(
        client, seller.event.id, purchase_body(line, email="b@example.com"), headers=None
    )
    assert (pending.json()["status"], paid.json()["status"]) == ("pending", "paid")
    assert (await stored_coupon(runtime, coupon["id"])).uses == 2

    cancel = await client.post(f"/api/orders/{pending.json()['id']}/cancel", headers=buyer.headers)
    assert cancel.status_code == 200, cancel.text
    assert (await stored_coupon(runtime, coupon["id"])).uses == 1

    refund = await client.post(
        f"/api/orders/{paid.json()['id']}/cancel",
        json={"reason_code": "customer_request"},
        headers=seller.organizer.headers,
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "refunded"
    # A refunded order no longer holds its use: a coupon's uses are its live orders.
    assert (await stored_coupon(runtime, coupon["id"])).uses == 0
    assert all(r.released_at is not None for r in await redemptions(runtime, coupon["id"]))
    assert await _books(runtime, seller) == (8750, 8750, True)
