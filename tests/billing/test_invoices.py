"""Invoices and credit notes over the API: asked for by the buyer or issued automatically, from
a snapshot, numbered per organizer and year, voided only by a credit note."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from admitone.jobs.worker import drain
from admitone.runtime import Runtime
from tests.billing.conftest import (
    BUYER_NAME,
    INVOICES,
    PROFILE,
    PROFILES,
    SETTINGS,
    Shop,
    ask_invoice,
    buy,
    details,
    make_profile,
)
from tests.support.envelope import assert_envelope
from tests.ticketing.conftest import make_event

Sent = list[tuple[str, dict[str, Any]]]


async def test_a_buyer_gets_one_invoice_for_a_paid_order_from_their_default_profile(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await make_profile(client, shop.buyer.headers)
    order = await buy(client, shop.event.id, shop.buyer.headers)

    first = await ask_invoice(client, order["id"], shop.buyer.headers)
    assert first.status_code == 201, first.text
    invoice = first.json()
    assert invoice["kind"] == "invoice"
    assert invoice["number"] == "INV-2026-000001"
    assert invoice["status"] == "issued"
    assert (invoice["gross_total"], invoice["net_total"], invoice["tax_total"]) == (
        "100.00",
        "100.00",
        "0.00",
    )
    assert invoice["currency"] == order["currency"]
    [line] = invoice["lines"]
    assert (line["quantity"], line["unit_net"], line["tax"], line["gross"]) == (
        2,
        "50.00",
        "0.00",
        "100.00",
    )
    assert invoice["bill_to"]["company"] == PROFILE["company"]
    assert invoice["bill_to"]["vat_id"] == "DE123456789"
    assert invoice["seller_name"] == shop.organizer.user.name

    again = await ask_invoice(client, order["id"], shop.buyer.headers)
    assert again.status_code == 200
    assert again.json() == invoice
    read = await client.get(f"/api/orders/{order['id']}/invoice", headers=shop.buyer.headers)
    assert read.json() == invoice


async def test_an_invoice_keeps_the_details_it_was_issued_with(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    profile = await make_profile(client, shop.buyer.headers)
    order = await buy(client, shop.event.id, shop.buyer.headers)
    issued = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()

    await client.patch(
        f"{PROFILES}/{profile['id']}", json={"city": "Hamburg"}, headers=shop.buyer.headers
    )
    await client.delete(f"{PROFILES}/{profile['id']}", headers=shop.buyer.headers)
    read = await client.get(f"{INVOICES}/{issued['id']}", headers=shop.buyer.headers)
    assert read.json()["bill_to"]["city"] == "Berlin"
    assert read.json() == issued


async def test_details_given_with_the_request_or_a_named_profile_are_billed(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    await make_profile(client, shop.buyer.headers)
    other = await make_profile(
        client, shop.buyer.headers, company="Difference Ltd", country="GB", vat_id="GB123456789"
    )
    order = await buy(client, shop.event.id, shop.buyer.headers)
    named = await ask_invoice(
        client, order["id"], shop.buyer.headers, {"billing_profile_id": other["id"]}
    )
    assert named.json()["bill_to"]["company"] == "Difference Ltd"

    second = await buy(client, shop.event.id, shop.buyer.headers)
    given = await ask_invoice(
        client,
        second["id"],
        shop.buyer.headers,
        {"billing": details(company=None, vat_id=None, country="fr")},
    )
    assert given.status_code == 201, given.text
    assert given.json()["bill_to"]["country"] == "FR"
    assert given.json()["number"] == "INV-2026-000002"


async def test_without_a_profile_the_invoice_names_the_orders_buyer(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()
    assert invoice["bill_to"]["name"] == BUYER_NAME
    assert invoice["bill_to"]["address_line1"] is None


async def test_foreign_unpaid_and_missing_orders_have_no_invoice_to_ask_for(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    foreign = await ask_invoice(client, order["id"], shop.stranger.headers)
    assert_envelope(foreign, 404, "order_not_found")
    organizer = await ask_invoice(client, order["id"], shop.organizer.headers)
    assert_envelope(organizer, 404, "order_not_found")
    missing = await ask_invoice(client, str(uuid.uuid4()), shop.buyer.headers)
    assert_envelope(missing, 404, "order_not_found")

    unpaid = await buy(
        client,
        shop.event.id,
        shop.stranger.headers,
        payment_method="pm_card_chargeDeclined",
        expect=402,
    )
    order_id = unpaid["details"]["order_id"]
    assert_envelope(
        await ask_invoice(client, order_id, shop.stranger.headers), 404, "order_not_found"
    )
    assert (await client.get(INVOICES, headers=shop.admin.headers)).json()["data"] == []


async def test_a_malformed_request_is_refused_naming_the_field(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    for body, field in (
        ({"billing": {**PROFILE, "vat_id": "DE12"}}, "billing.vat_id"),
        ({"billing": {**PROFILE, "country": "ZZ"}}, "billing.country"),
        ({"billing_profile_id": "nope"}, "billing_profile_id"),
        ({"unknown": 1}, "unknown"),
    ):
        response = await ask_invoice(client, order["id"], shop.buyer.headers, body)
        assert assert_envelope(response, 422, "validation_error")["details"]["field"] == field
    someone_elses = await make_profile(client, shop.stranger.headers)
    response = await ask_invoice(
        client, order["id"], shop.buyer.headers, {"billing_profile_id": someone_elses["id"]}
    )
    assert_envelope(response, 404, "billing_profile_not_found")
    # Nothing was issued, and no number was taken.
    issued = await ask_invoice(client, order["id"], shop.buyer.headers)
    assert issued.json()["number"] == "INV-2026-000001"


async def test_a_guest_asks_with_the_orders_token_and_gives_details(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id)
    token = order["access_token"]
    assert_envelope(await ask_invoice(client, order["id"]), 404, "order_not_found")
    assert_envelope(
        await ask_invoice(client, order["id"], token="wrong-token"), 404, "order_not_found"
    )
    response = await ask_invoice(
        client, order["id"], body={"billing": details(vat_id=None)}, token=token
    )
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["buyer_user_id"] is None
    assert invoice["bill_to"]["name"] == PROFILE["name"]

    read = await client.get(f"/api/orders/{order['id']}/invoice", params={"token": token})
    assert read.json() == invoice
    one = await client.get(f"{INVOICES}/{invoice['id']}", params={"token": token})
    assert one.json() == invoice
    pdf = await client.get(f"{INVOICES}/{invoice['id']}.pdf", params={"token": token})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert_envelope(await client.get(f"{INVOICES}/{invoice['id']}"), 404, "invoice_not_found")


async def test_buyer_organizer_and_staff_read_and_download_it_and_nobody_else(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()
    for signed in (shop.buyer, shop.organizer, shop.admin):
        read = await client.get(f"{INVOICES}/{invoice['id']}", headers=signed.headers)
        assert read.json() == invoice
        by_order = await client.get(f"/api/orders/{order['id']}/invoice", headers=signed.headers)
        assert by_order.json() == invoice
        pdf = await client.get(f"{INVOICES}/{invoice['id']}.pdf", headers=signed.headers)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
    for response in (
        await client.get(f"{INVOICES}/{invoice['id']}", headers=shop.stranger.headers),
        await client.get(f"{INVOICES}/{invoice['id']}.pdf", headers=shop.stranger.headers),
        await client.get(f"/api/orders/{order['id']}/invoice", headers=shop.stranger.headers),
    ):
        assert_envelope(response, 404, "invoice_not_found")


async def test_lists_show_buyers_their_own_organizers_theirs_and_staff_all(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    ids = []
    for _ in range(3):
        order = await buy(client, shop.event.id, shop.buyer.headers, quantity=1)
        ids.append((await ask_invoice(client, order["id"], shop.buyer.headers)).json()["id"])
    theirs = await buy(client, shop.event.id, shop.stranger.headers, quantity=1)
    other = (await ask_invoice(client, theirs["id"], shop.stranger.headers)).json()["id"]

    async def listed(headers: dict[str, str], **params: Any) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(INVOICES, params=query, headers=headers)).json()
            found += [i["id"] for i in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    assert sorted(await listed(shop.buyer.headers)) == sorted(ids)
    assert sorted(await listed(shop.stranger.headers)) == [other]
    assert sorted(await listed(shop.organizer.headers)) == sorted([*ids, other])
    assert sorted(await listed(shop.admin.headers)) == sorted([*ids, other])
    assert await listed(shop.admin.headers, kind="credit_note") == []
    assert_envelope(await client.get(INVOICES), 401, "not_authenticated")
    bad = await client.get(INVOICES, params={"cursor": "!!"}, headers=shop.buyer.headers)
    assert bad.status_code == 422


async def test_cancelling_an_invoiced_order_voids_the_invoice_by_a_credit_note(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, published: Sent
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()
    cancelled = await client.post(
        f"/api/orders/{order['id']}/cancel", json={}, headers=shop.buyer.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refunded"

    voided = (await client.get(f"{INVOICES}/{invoice['id']}", headers=shop.buyer.headers)).json()
    assert voided["status"] == "voided" and voided["voided_at"] is not None
    assert {k: v for k, v in voided.items() if k not in ("status", "voided_at")} == {
        k: v for k, v in invoice.items() if k not in ("status", "voided_at")
    }
    [credit] = (
        await client.get(INVOICES, params={"kind": "credit_note"}, headers=shop.buyer.headers)
    ).json()["data"]
    assert credit["number"] == "CN-2026-000001"
    assert credit["credits_invoice_id"] == invoice["id"]
    assert credit["gross_total"] == invoice["gross_total"]
    assert credit["bill_to"] == invoice["bill_to"]
    pdf = await client.get(f"{INVOICES}/{credit['id']}.pdf", headers=shop.organizer.headers)
    assert pdf.content.startswith(b"%PDF")
    # The order's invoice is still the voided one: asking again issues nothing new.
    again = await ask_invoice(client, order["id"], shop.buyer.headers)
    assert (again.status_code, again.json()["status"]) == (200, "voided")

    mine = f"billing:invoices:user:{shop.buyer.id}"
    assert [m["type"] for t, m in published if t == mine] == [
        "invoice_issued",
        "invoice_voided",
        "credit_note_issued",
    ]
    organizers = f"billing:invoices:user:{shop.organizer.id}"
    assert len([t for t, _ in published if t == organizers]) == 3
    assert len([t for t, _ in published if t == "billing:invoices"]) == 3


async def test_an_order_cancelled_without_an_invoice_gets_no_credit_note(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    await client.post(f"/api/orders/{order['id']}/cancel", json={}, headers=shop.buyer.headers)
    assert (await client.get(INVOICES, headers=shop.admin.headers)).json()["data"] == []
    assert_envelope(
        await ask_invoice(client, order["id"], shop.buyer.headers), 404, "order_not_found"
    )


async def test_an_organizer_who_invoices_automatically_gets_one_per_paid_order_with_its_prefix(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    default = await client.get(SETTINGS, headers=shop.organizer.headers)
    assert default.json() == {
        "invoice_mode": "on_request",
        "invoice_prefix": "INV",
        "credit_note_prefix": "CN",
    }
    changed = await client.put(
        SETTINGS,
        json={"invoice_mode": "automatic", "invoice_prefix": "ACME"},
        headers=shop.organizer.headers,
    )
    assert changed.json()["invoice_mode"] == "automatic", changed.text
    assert_envelope(
        await client.put(
            SETTINGS, json={"invoice_prefix": "bad-1"}, headers=shop.organizer.headers
        ),
        422,
        "validation_error",
    )
    assert_envelope(
        await client.get(SETTINGS, headers=shop.buyer.headers), 403, "billing_organizers_only"
    )

    await make_profile(client, shop.buyer.headers)
    first = await buy(client, shop.event.id, shop.buyer.headers, quantity=1)
    second = await buy(client, shop.event.id, quantity=1)  # a guest
    await drain(runtime)

    page = (await client.get(INVOICES, headers=shop.organizer.headers)).json()["data"]
    by_order = {i["order_id"]: i for i in page}
    assert sorted(i["number"] for i in page) == ["ACME-2026-000001", "ACME-2026-000002"]
    assert by_order[first["id"]]["bill_to"]["company"] == PROFILE["company"]
    assert by_order[second["id"]]["bill_to"]["name"] == BUYER_NAME
    # Asking for it answers the one already issued.
    asked = await ask_invoice(client, first["id"], shop.buyer.headers)
    assert (asked.status_code, asked.json()["id"]) == (200, by_order[first["id"]]["id"])


async def test_each_organizer_numbers_their_own_invoices(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    other = await make_event(runtime, shop.admin.user)
    mine = await buy(client, shop.event.id, shop.buyer.headers, quantity=1)
    theirs = await buy(client, other.id, shop.buyer.headers, quantity=1)
    assert (await ask_invoice(client, mine["id"], shop.buyer.headers)).json()["number"] == (
        "INV-2026-000001"
    )
    assert (await ask_invoice(client, theirs["id"], shop.buyer.headers)).json()["number"] == (
        "INV-2026-000001"
    )
