"""An invoice asked at checkout: the purchase (or the cart checkout) carries the billing details
or a profile, the order keeps them, and once it is paid billing issues its invoice to them, by a
job, exactly once, whatever the organizer's invoice mode."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from admitone.billing.models import Invoice
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.notifications import service as notifications_service
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing.models import Order
from admitone.ticketing.purchase import batching, reserve
from tests.billing.conftest import (
    BUYER_EMAIL,
    BUYER_NAME,
    INVOICES,
    PROFILE,
    PROFILES,
    SETTINGS,
    Shop,
    ask_invoice,
    details,
    make_profile,
)
from tests.shop.conftest import CARTS, add, guest_cart
from tests.support.envelope import assert_envelope
from tests.ticketing.conftest import order_body


def with_invoice(
    invoice: dict[str, Any], quantity: int = 2, email: str = BUYER_EMAIL
) -> dict[str, Any]:
    body = order_body(quantity, email=email, name=BUYER_NAME)
    body["order"]["invoice"] = invoice
    return body


async def purchase(
    client: httpx.AsyncClient,
    event_id: uuid.UUID,
    invoice: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/events/{event_id}/purchase", json=with_invoice(invoice), headers=headers or {}
    )


async def order_count(runtime: Runtime) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Order)) or 0)


async def all_invoices(client: httpx.AsyncClient, shop: Shop) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = (await client.get(INVOICES, headers=shop.admin.headers)).json()[
        "data"
    ]
    return page


async def test_a_guest_who_asks_at_checkout_gets_the_invoice_to_those_details_once_paid(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    mode = await client.get(SETTINGS, headers=shop.organizer.headers)
    assert mode.json()["invoice_mode"] == "on_request"
    response = await purchase(client, shop.event.id, {"billing": PROFILE})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "paid"
    token = order["access_token"]

    await drain(runtime)

    read = await client.get(f"/api/orders/{order['id']}/invoice", params={"token": token})
    assert read.status_code == 200, read.text
    invoice = read.json()
    assert invoice["number"] == "INV-2026-000001"
    assert invoice["bill_to"]["company"] == PROFILE["company"]
    assert invoice["bill_to"]["vat_id"] == "DE123456789"
    assert invoice["gross_total"] == "100.00"
    asked = await ask_invoice(client, order["id"], token=token)
    assert (asked.status_code, asked.json()) == (200, invoice)
    pdf = await client.get(f"{INVOICES}/{invoice['id']}.pdf", params={"token": token})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    async with runtime.unit_of_work(readonly=True) as uow:
        [email] = await notifications_service.emails_about(uow, "invoice", uuid.UUID(invoice["id"]))
    assert email.to_address == BUYER_EMAIL
    assert [i["id"] for i in await all_invoices(client, shop)] == [invoice["id"]]


async def test_a_signed_in_buyer_names_a_profile_read_when_the_invoice_is_issued(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    await make_profile(client, shop.buyer.headers)  # the default, not the one asked for
    asked_for = await make_profile(client, shop.buyer.headers, company="Difference Ltd")
    response = await purchase(
        client, shop.event.id, {"billing_profile_id": asked_for["id"]}, shop.buyer.headers
    )
    assert response.status_code == 201, response.text
    order = response.json()
    changed = await client.patch(
        f"{PROFILES}/{asked_for['id']}", json={"city": "Hamburg"}, headers=shop.buyer.headers
    )
    assert changed.status_code == 200, changed.text

    await drain(runtime)

    read = await client.get(f"/api/orders/{order['id']}/invoice", headers=shop.buyer.headers)
    assert read.status_code == 200, read.text
    bill_to = read.json()["bill_to"]
    assert (bill_to["company"], bill_to["city"]) == ("Difference Ltd", "Hamburg")


async def test_someone_elses_profile_or_a_guests_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    theirs = await make_profile(client, shop.stranger.headers)
    for headers in (shop.buyer.headers, None):
        refused = await purchase(
            client, shop.event.id, {"billing_profile_id": theirs["id"]}, headers
        )
        body = assert_envelope(refused, 404, "billing_profile_not_found")
        assert body["details"]["field"] == "order.invoice.billing_profile_id"
    assert await order_count(runtime) == 0


async def test_bad_billing_details_are_a_422_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    for invoice, field in (
        ({"billing": details(vat_id="DE12345")}, "order.invoice.billing.vat_id"),
        ({"billing": details(vat_id="ZZ123456789")}, "order.invoice.billing.vat_id"),
        ({"billing": details(country="XX")}, "order.invoice.billing.country"),
        ({"billing": details(name=None, company=None)}, "order.invoice.billing"),
        ({}, "order.invoice"),
        ({"billing": PROFILE, "billing_profile_id": str(uuid.uuid4())}, "order.invoice"),
        ({"billing": None}, "order.invoice.billing"),
    ):
        refused = await purchase(client, shop.event.id, invoice, shop.buyer.headers)
        body = assert_envelope(refused, 422, "validation_error")
        assert body["details"]["field"] == field, (invoice, body)
    assert await order_count(runtime) == 0


async def test_a_cart_checkout_asks_for_the_invoice_too(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    cart_id, token = await guest_cart(client)
    line = await add(client, cart_id, token, tier_id=str(shop.event.tier_ids[0]), quantity=1)
    assert line.status_code == 201, line.text
    body = with_invoice({"billing": details(company=None)})
    del body["order"]["quantity"]
    response = await client.post(f"{CARTS}/{cart_id}/checkout", json=body, headers=token)
    assert response.status_code == 201, response.text
    order = response.json()

    await drain(runtime)

    read = await client.get(
        f"/api/orders/{order['id']}/invoice", params={"token": order["access_token"]}
    )
    assert read.status_code == 200, read.text
    assert read.json()["bill_to"]["name"] == PROFILE["name"]
    assert read.json()["bill_to"]["company"] is None


async def test_an_order_that_expires_unpaid_gets_no_invoice(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    gateway = runtime.gateway
    assert isinstance(gateway, FakeGateway)
    gateway.default_payment_method = None  # the order waits for a payment that never comes
    response = await purchase(client, shop.event.id, {"billing": PROFILE})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending"
    unpaid = await ask_invoice(client, order["id"], token=order["access_token"])
    assert_envelope(unpaid, 404, "order_not_found")

    clock.advance(minutes=16)
    await drain(runtime)

    async with runtime.unit_of_work(readonly=True) as uow:
        expired = await uow.session.get(Order, uuid.UUID(order["id"]))
        invoices = await uow.session.scalar(select(func.count()).select_from(Invoice))
    assert expired is not None and expired.status == "expired"
    assert invoices == 0


async def test_an_organizer_who_invoices_automatically_issues_the_asked_one_once(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    changed = await client.put(
        SETTINGS, json={"invoice_mode": "automatic"}, headers=shop.organizer.headers
    )
    assert changed.status_code == 200, changed.text
    await make_profile(client, shop.buyer.headers, company="Default GmbH")
    response = await purchase(
        client, shop.event.id, {"billing": details(company="Asked AG")}, shop.buyer.headers
    )
    assert response.status_code == 201, response.text

    await drain(runtime)

    [invoice] = await all_invoices(client, shop)
    assert invoice["order_id"] == response.json()["id"]
    assert invoice["bill_to"]["company"] == "Asked AG"


async def test_purchases_asking_for_invoices_ride_in_batches_and_each_gets_its_own(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed: list[int] = []
    place = reserve.reserve_orders

    async def placing(uow: Any, settings: Any, items: Sequence[Any], *rest: Any) -> Any:
        placed.append(len(items))
        return await place(uow, settings, items, *rest)

    monkeypatch.setattr(batching, "reserve_orders", placing)
    bodies = [
        with_invoice({"billing": details(company=f"Company {n}")}, 1, f"buyer{n}@example.com")
        for n in range(6)
    ]
    responses = await asyncio.gather(
        *(client.post(f"/api/events/{shop.event.id}/purchase", json=body) for body in bodies)
    )
    assert [r.status_code for r in responses] == [201] * 6
    assert max(placed) > 1

    await drain(runtime)

    invoices = {i["order_id"]: i for i in await all_invoices(client, shop)}
    for n, response in enumerate(responses):
        assert invoices[response.json()["id"]]["bill_to"]["company"] == f"Company {n}"


async def test_a_replay_must_ask_for_the_same_invoice(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    body = with_invoice({"billing": PROFILE})
    body["order"]["idempotency_key"] = "invoice-once"
    first = await client.post(f"/api/events/{shop.event.id}/purchase", json=body)
    assert first.status_code == 201, first.text
    again = await client.post(f"/api/events/{shop.event.id}/purchase", json=body)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])

    body["order"]["invoice"] = {"billing": details(city="Hamburg")}
    changed = await client.post(f"/api/events/{shop.event.id}/purchase", json=body)
    assert_envelope(changed, 422, "idempotency_key_reused")
    assert await order_count(runtime) == 1
