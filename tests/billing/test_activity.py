"""Billing's activity entries name what happened by ids, numbers, statuses and amounts: never
a name, an address, a VAT id or an email (every billing test's entries are scanned for those
by the ``activity_is_free_of_personal_data`` fixture)."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.billing.conftest import (
    PII,
    PROFILE,
    PROFILES,
    SETTINGS,
    Shop,
    ask_invoice,
    assert_activity_free_of_personal_data,
    buy,
    cancel,
    make_profile,
    refund_part,
)


def ok(response: httpx.Response) -> httpx.Response:
    assert response.is_success, response.text
    return response


BILLING_ACTION = re.compile(r"^billing\.[a-z]+(_[a-z]+)+$")


async def test_billing_activity_names_documents_and_profiles_by_id_and_number(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    profile = await make_profile(client, shop.buyer.headers)
    await client.patch(
        f"{PROFILES}/{profile['id']}", json={"city": "Hamburg"}, headers=shop.buyer.headers
    )
    order = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, order["id"], shop.buyer.headers)).json()
    await client.post(f"/api/orders/{order['id']}/cancel", json={}, headers=shop.buyer.headers)
    await client.delete(f"{PROFILES}/{profile['id']}", headers=shop.buyer.headers)

    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(
            await uow.session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.action.like("billing.%"))
                .order_by(ActivityEntry.created_at, ActivityEntry.action)
            )
        )
    # billing.refund_issued is the ledger's record of the money going back.
    actions = sorted(e.action for e in entries if e.resource_type in ("invoice", "billing_profile"))
    assert actions == [
        "billing.credit_note_issued",
        "billing.invoice_issued",
        "billing.invoice_voided",
        "billing.profile_created",
        "billing.profile_deleted",
        "billing.profile_updated",
    ]
    issued = next(e for e in entries if e.action == "billing.invoice_issued")
    assert issued.actor_uuid == shop.buyer.user.id
    assert issued.meta == {
        "invoice_uuid": invoice["id"],
        "order_uuid": order["id"],
        "invoice_number": "INV-2026-000001",
        "kind": "invoice",
        "status": "issued",
        "amount": 10000,
        "currency": order["currency"],
    }
    credit = next(e for e in entries if e.action == "billing.credit_note_issued")
    assert credit.meta["invoice_number"] == "CN-2026-000001"
    created = next(e for e in entries if e.action == "billing.profile_created")
    assert created.resource_uuid is not None and str(created.resource_uuid) == profile["id"]
    assert created.meta == {"status": "default"}


async def test_every_billing_route_leaves_activity_named_by_action_and_free_of_personal_data(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    """One pass over every billing route (and the money moves it reads), then a scan of every
    activity entry written, in whatever form the details were sent or stored."""
    buyer, organizer, admin = shop.buyer.headers, shop.organizer.headers, shop.admin.headers
    profile = await make_profile(client, buyer)
    second = await make_profile(client, buyer, name="Grace Hopper", is_default=True)
    ok(await client.get(PROFILES, headers=buyer))
    ok(await client.get(f"{PROFILES}/{profile['id']}", headers=buyer))
    ok(await client.patch(f"{PROFILES}/{profile['id']}", json={"city": "Munich"}, headers=buyer))
    ok(await client.put(SETTINGS, json={"invoice_prefix": "ACME"}, headers=organizer))
    ok(await client.get(SETTINGS, headers=organizer))
    invoiced = await buy(client, shop.event.id, buyer)
    refunded = await buy(client, shop.event.id, buyer)
    invoice = ok(await ask_invoice(client, invoiced["id"], buyer)).json()
    ok(await ask_invoice(client, refunded["id"], buyer, {"billing_profile_id": second["id"]}))
    guest = await buy(client, shop.event.id)
    as_guest = {"token": guest["access_token"], "body": {"billing": PROFILE}}
    ok(await ask_invoice(client, guest["id"], **as_guest))
    for reader in (buyer, organizer, admin):
        ok(await client.get(f"/api/orders/{invoiced['id']}/invoice", headers=reader))
        ok(await client.get(f"/api/invoices/{invoice['id']}", headers=reader))
        ok(await client.get(f"/api/invoices/{invoice['id']}.pdf", headers=reader))
        ok(await client.get("/api/invoices", headers=reader))
        ok(await client.get("/api/me/transactions", headers=reader))
    await refund_part(runtime, refunded["id"], 1_000, "re_activity_scan")
    await cancel(client, invoiced["id"], buyer)
    ok(await client.get("/api/payouts", headers=organizer))
    ok(await client.get("/api/payouts", headers=admin))
    ok(await client.delete(f"{PROFILES}/{profile['id']}", headers=buyer))

    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(await uow.session.scalars(select(ActivityEntry)))
    billing = {e.action for e in entries if e.action.startswith("billing.")}
    assert {
        "billing.profile_created",
        "billing.profile_updated",
        "billing.profile_deleted",
        "billing.settings_updated",
        "billing.invoice_issued",
        "billing.invoice_voided",
        "billing.credit_note_issued",
        "billing.payment_captured",
        "billing.refund_issued",
    } <= billing
    assert all(BILLING_ACTION.match(action) for action in billing), billing
    stored = [PROFILE["vat_id"].replace(" ", ""), PROFILE["postcode"], "Grace Hopper", "Munich"]
    for entry in entries:
        dumped = json.dumps([entry.action, entry.resource_type, entry.meta])
        for text in [*PII, *stored]:
            assert text not in dumped, f"{entry.action} carries personal data"
    await assert_activity_free_of_personal_data(runtime)
