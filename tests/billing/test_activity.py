"""Billing's activity entries name what happened by ids, numbers, statuses and amounts: never
a name, an address, a VAT id or an email (every billing test's entries are scanned for those
by the ``activity_is_free_of_personal_data`` fixture)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.billing.conftest import PROFILES, Shop, ask_invoice, buy, make_profile


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
