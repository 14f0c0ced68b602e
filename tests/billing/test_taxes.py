"""Tax rates through the API (tier, event default, bad input), orders that store net, tax and
gross as sold (inclusive and exclusive, alone and in batches), the ledger's tax owed through a
payment and its refunds, invoices per rate, and partial credit notes."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from admitone.ledger import service as ledger
from admitone.ledger.chart import AccountCode
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.purchase import batching, reserve
from tests.billing.conftest import INVOICES, Shop, ask_invoice, buy
from tests.shop.test_checkout import revenue
from tests.support.envelope import assert_envelope
from tests.ticketing.conftest import load_order, order_body

VAT = {"name": "VAT", "percent": "20.00", "inclusive": True}
REDUCED = {"name": "VAT reduced", "percent": "7.00", "inclusive": True}
SALES_TAX = {"name": "Sales tax", "percent": "8.25", "inclusive": False}


async def set_default(client: httpx.AsyncClient, shop: Shop, rate: dict[str, Any] | None) -> None:
    response = await client.put(
        f"/api/events/{shop.event.id}",
        json={"event": {"default_tax_rate": rate}},
        headers=shop.organizer.headers,
    )
    assert response.status_code == 200, response.text


async def set_tier_rate(
    client: httpx.AsyncClient, shop: Shop, rate: dict[str, Any] | None, tier: int = 0
) -> httpx.Response:
    return await client.put(
        f"/api/events/{shop.event.id}/tiers/{shop.event.tier_ids[tier]}",
        json={"tier": {"tax_rate": rate}},
        headers=shop.organizer.headers,
    )


async def add_tier(
    client: httpx.AsyncClient, shop: Shop, price: str, rate: dict[str, Any] | None
) -> str:
    response = await client.post(
        f"/api/events/{shop.event.id}/tiers",
        json={"tier": {"name": f"Tier {price}", "price": price, "capacity": 50, "tax_rate": rate}},
        headers=shop.organizer.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["tax_rate"] == rate
    return str(response.json()["id"])


async def partial_refund(runtime: Runtime, order_id: str, amount: int, n: int) -> int:
    """A refund made in the gateway's dashboard, as its webhook records it."""
    order = await load_order(runtime, order_id)
    assert order.payment_reference is not None
    refund = await runtime.gateway.refund(
        order.payment_reference, idempotency_key=f"dashboard-{order_id}-{n}", amount=amount
    )
    async with runtime.unit_of_work() as uow:
        return await ticketing_service.record_refund_by_id(
            uow, order.id, charge_id=order.payment_reference, refund_id=refund.id, amount=amount
        )


async def credit_notes(client: httpx.AsyncClient, shop: Shop) -> list[dict[str, Any]]:
    listed = await client.get(
        INVOICES, params={"kind": "credit_note"}, headers=shop.organizer.headers
    )
    notes: list[dict[str, Any]] = listed.json()["data"]
    return sorted(notes, key=lambda note: str(note["number"]))


async def test_rates_are_set_on_tiers_and_as_the_event_default_and_shown_by_the_api(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await set_default(client, shop, VAT)
    own = await set_tier_rate(client, shop, SALES_TAX)
    assert own.json()["tax_rate"] == SALES_TAX, own.text
    event = (await client.get(f"/api/events/{shop.event.id}")).json()
    assert event["default_tax_rate"] == VAT
    assert event["tiers"][0]["tax_rate"] == SALES_TAX

    cleared = await set_tier_rate(client, shop, None)
    await set_default(client, shop, None)

    assert cleared.json()["tax_rate"] is None
    assert (await client.get(f"/api/events/{shop.event.id}")).json()["default_tax_rate"] is None


async def test_an_event_is_created_with_a_default_rate_and_tiers_of_their_own(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    tiers: list[dict[str, Any]] = [
        {"name": "Standing", "price": "40.00", "capacity": 10},
        {"name": "Seated", "price": "60.00", "capacity": 10, "tax_rate": REDUCED},
    ]
    body: dict[str, Any] = {
        "event": {
            "name": "Gala",
            "venue": "Hall",
            "date": "2030-06-01T20:00:00Z",
            "default_tax_rate": VAT,
            "tiers": tiers,
        }
    }

    created = await client.post("/api/events", json=body, headers=shop.organizer.headers)

    assert created.status_code == 201, created.text
    event = created.json()
    assert event["default_tax_rate"] == VAT
    assert [tier["tax_rate"] for tier in event["tiers"]] == [None, REDUCED]
    body["event"]["default_tax_rate"] = {**VAT, "percent": "20.001"}
    refused = await client.post("/api/events", json=body, headers=shop.organizer.headers)
    assert assert_envelope(refused, 422, "validation_error")["details"]["field"] == (
        "event.default_tax_rate.percent"
    )


@pytest.mark.parametrize(
    ("rate", "field"),
    [
        ({**VAT, "percent": "100.01"}, "tier.tax_rate.percent"),
        ({**VAT, "percent": "-1"}, "tier.tax_rate.percent"),
        ({**VAT, "percent": "7.125"}, "tier.tax_rate.percent"),
        ({**VAT, "percent": 101}, "tier.tax_rate.percent"),
        ({**VAT, "percent": 7.5}, "tier.tax_rate.percent"),
        ({**VAT, "name": " "}, "tier.tax_rate.name"),
        ({**VAT, "inclusive": "yes"}, "tier.tax_rate.inclusive"),
        ({"name": "VAT", "percent": "20"}, "tier.tax_rate.inclusive"),
        ({**VAT, "extra": 1}, "tier.tax_rate.extra"),
    ],
)
async def test_a_bad_rate_is_refused_with_its_field_and_nothing_changes(
    client: httpx.AsyncClient, shop: Shop, rate: dict[str, Any], field: str
) -> None:
    response = await set_tier_rate(client, shop, rate)

    assert assert_envelope(response, 422, "validation_error")["details"]["field"] == field
    event = (await client.get(f"/api/events/{shop.event.id}")).json()
    assert event["tiers"][0]["tax_rate"] is None


async def test_an_inclusive_rate_is_inside_the_price_rounded_half_up_per_line(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await set_default(client, shop, VAT)

    order = await buy(client, shop.event.id, shop.buyer.headers, quantity=2)

    # 100.00 with 20 % inside: 16.666... of tax, 16.67 rounded half-up.
    assert (order["total"], order["net"], order["tax"]) == ("100.00", "83.33", "16.67")
    [line] = order["items"]
    assert (line["net"], line["tax"], line["gross"], line["tax_rate"]) == (
        "83.33",
        "16.67",
        "100.00",
        VAT,
    )
    assert order["taxes"] == [
        {**VAT, "net": "83.33", "tax": "16.67", "gross": "100.00"},
    ]


async def test_an_exclusive_rate_is_charged_on_top_and_owed_in_the_ledger(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    await set_tier_rate(client, shop, SALES_TAX)

    order = await buy(client, shop.event.id, shop.buyer.headers, quantity=2)

    # 100.00 net, 8.25 % on top: the buyer is charged 108.25.
    assert (order["status"], order["total"], order["net"], order["tax"]) == (
        "paid",
        "108.25",
        "100.00",
        "8.25",
    )
    books = await revenue(runtime, shop.event.id)
    assert books[AccountCode.TICKET_REVENUE] == -10_000
    assert books[AccountCode.TAX_PAYABLE] == -825
    async with runtime.unit_of_work(readonly=True) as uow:
        summary = await ledger.event_summary(uow, shop.event.id)
    [usd] = summary.currencies
    assert (usd.revenue, usd.tax_payable) == (10_000, 825)


async def test_partial_refunds_take_tax_back_in_proportion_and_a_full_refund_the_rest_exactly(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    await set_tier_rate(client, shop, SALES_TAX)
    order = await buy(client, shop.event.id, shop.buyer.headers, quantity=2)

    assert await partial_refund(runtime, order["id"], 3_333, 1) == 3_333
    books = await revenue(runtime, shop.event.id)
    # 3,333 of 10,825 refunded: floor(3,333 * 825 / 10,825) = 254 of the tax.
    assert books[AccountCode.TAX_PAYABLE] == -825 + 254
    assert books[AccountCode.REFUNDS] == 3_333 - 254
    assert await partial_refund(runtime, order["id"], 1, 2) == 1

    cancelled = await client.post(
        f"/api/orders/{order['id']}/cancel", json={}, headers=shop.buyer.headers
    )

    assert cancelled.json()["status"] == "refunded", cancelled.text
    books = await revenue(runtime, shop.event.id)
    assert books[AccountCode.TAX_PAYABLE] == 0
    assert books[AccountCode.REFUNDS] == 10_000
    async with runtime.unit_of_work(readonly=True) as uow:
        assert (await ledger.trial_balance(uow, organizer_id=shop.organizer.user.id)).balanced


async def test_batched_purchases_each_store_their_own_tax(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_default(client, shop, SALES_TAX)
    sizes: list[int] = []
    place = reserve.reserve_orders

    async def placing(uow: Any, settings: Any, items: Any, *rest: Any) -> Any:
        sizes.append(len(items))
        return await place(uow, settings, items, *rest)

    monkeypatch.setattr(batching, "reserve_orders", placing)
    bodies = [order_body(n % 3 + 1, email=f"guest{n}@example.com") for n in range(6)]

    responses = await asyncio.gather(
        *(client.post(f"/api/events/{shop.event.id}/purchase", json=body) for body in bodies)
    )

    for body, response in zip(bodies, responses, strict=True):
        assert response.status_code == 201, response.text
        quantity = body["order"]["quantity"]
        placed = response.json()
        net = 5_000 * quantity
        tax = (2 * net * 825 + 10_000) // 20_000  # half-up of 8.25 %
        assert placed["net"] == f"{net / 100:.2f}"
        assert placed["tax"] == f"{tax / 100:.2f}"
        assert placed["total"] == f"{(net + tax) / 100:.2f}"
    assert max(sizes) > 1  # some were reserved together
    books = await revenue(runtime, shop.event.id)
    orders = [await load_order(runtime, r.json()["id"]) for r in responses]
    assert -books[AccountCode.TAX_PAYABLE] == sum(o.tax_total for o in orders)


async def test_an_invoice_shows_each_line_at_its_rate_and_totals_per_rate(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await set_default(client, shop, VAT)
    reduced = await add_tier(client, shop, "10.70", REDUCED)
    body = order_body(
        None,
        items=[(shop.event.tier_ids[0], 1), (uuid.UUID(reduced), 2)],
        email="charles@example.com",
        name="Charles Babbage",
    )
    bought = await client.post(
        f"/api/events/{shop.event.id}/purchase", json=body, headers=shop.buyer.headers
    )
    assert bought.status_code == 201, bought.text

    invoice = (await ask_invoice(client, bought.json()["id"], shop.buyer.headers)).json()

    # 50.00 with 20 % inside (8.33), 21.40 with 7 % inside (1.40).
    assert [
        (line["tax_rate_percent"], line["tax"], line["gross"]) for line in invoice["lines"]
    ] == [
        ("20.00", "8.33", "50.00"),
        ("7.00", "1.40", "21.40"),
    ]
    assert [
        (t["name"], t["percent"], t["net"], t["tax"], t["gross"]) for t in invoice["taxes"]
    ] == [
        (VAT["name"], "20.00", "41.67", "8.33", "50.00"),
        (REDUCED["name"], "7.00", "20.00", "1.40", "21.40"),
    ]
    assert (invoice["net_total"], invoice["tax_total"], invoice["gross_total"]) == (
        "61.67",
        "9.73",
        "71.40",
    )
    pdf = await client.get(f"{INVOICES}/{invoice['id']}.pdf", headers=shop.buyer.headers)
    assert pdf.content.startswith(b"%PDF")


async def test_partial_refunds_issue_credit_notes_for_what_they_gave_back_and_cancel_the_rest(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    await set_default(client, shop, VAT)
    reduced = await add_tier(client, shop, "10.70", REDUCED)
    body = order_body(
        None,
        items=[(shop.event.tier_ids[0], 1), (uuid.UUID(reduced), 2)],
        email="charles@example.com",
        name="Charles Babbage",
    )
    order = (
        await client.post(
            f"/api/events/{shop.event.id}/purchase", json=body, headers=shop.buyer.headers
        )
    ).json()
    invoice = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()

    await partial_refund(runtime, order["id"], 2_000, 1)
    await partial_refund(runtime, order["id"], 1_001, 2)

    first, second = await credit_notes(client, shop)
    assert [first["gross_total"], second["gross_total"]] == ["20.00", "10.01"]
    assert {first["credits_invoice_id"], second["credits_invoice_id"]} == {invoice["id"]}
    still = (await client.get(f"{INVOICES}/{invoice['id']}", headers=shop.buyer.headers)).json()
    assert still["status"] == "issued"
    for note in (first, second):
        for line in note["lines"]:
            assert _cents(line["net"]) + _cents(line["tax"]) == _cents(line["gross"])

    cancelled = await client.post(
        f"/api/orders/{order['id']}/cancel", json={}, headers=shop.buyer.headers
    )

    assert cancelled.json()["status"] == "refunded", cancelled.text
    notes = await credit_notes(client, shop)
    assert len(notes) == 3
    assert sum(_cents(n["gross_total"]) for n in notes) == _cents(invoice["gross_total"])
    assert sum(_cents(n["tax_total"]) for n in notes) == _cents(invoice["tax_total"])
    for rate in invoice["taxes"]:
        credited = [t for n in notes for t in n["taxes"] if t["percent"] == rate["percent"]]
        assert sum(_cents(t["tax"]) for t in credited) == _cents(rate["tax"])
        assert sum(_cents(t["gross"]) for t in credited) == _cents(rate["gross"])
    voided = (await client.get(f"{INVOICES}/{invoice['id']}", headers=shop.buyer.headers)).json()
    assert voided["status"] == "voided"


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)
