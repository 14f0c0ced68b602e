"""``GET /api/me/transactions``: a user's money movements read from the ledger, and the credit
notes made out to them, newest first, signed from the user's side, one page at a time; nobody
else's, and kinds posted by another domain (subscriptions) plug in by their string value."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import literal, select

from admitone.billing import transactions
from admitone.core.clock import FrozenClock
from admitone.ledger.chart import EntryKind
from admitone.ledger.models import LedgerAccount
from admitone.ledger.posting import Draft, Line, post
from admitone.runtime import Runtime
from tests.billing.conftest import Shop, ask_invoice, buy, cancel, refund_part
from tests.support.envelope import assert_envelope

TRANSACTIONS = "/api/me/transactions"


async def statement(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(TRANSACTIONS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def whole_statement(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await statement(
            client, headers, limit=limit, **({"cursor": cursor} if cursor else {})
        )
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_a_buyer_sees_payments_refunds_and_credit_notes_newest_first_signed_from_their_side(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    first = await buy(client, shop.event.id, shop.buyer.headers)
    invoice = (await ask_invoice(client, first["id"], shop.buyer.headers)).json()
    clock.advance(minutes=1)
    second = await buy(client, shop.event.id, shop.buyer.headers)
    clock.advance(minutes=1)
    await cancel(client, first["id"], shop.buyer.headers)
    clock.advance(minutes=1)
    assert await refund_part(runtime, second["id"], 3000, "re_part_1") == 3000

    items = (await statement(client, shop.buyer.headers))["data"]
    seen = [(i["kind"], i["amount"], i["references"]["order_id"]) for i in items]
    # The cancel's refund and its credit note share a moment: either may come first.
    assert seen[0] == ("refund", "30.00", second["id"])
    assert sorted(seen[1:3]) == [
        ("credit_note", "100.00", first["id"]),
        ("refund", "100.00", first["id"]),
    ]
    assert seen[3:] == [("payment", "-100.00", second["id"]), ("payment", "-100.00", first["id"])]
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert {i["currency"] for i in items} == {first["currency"]}
    note = next(i for i in items if i["kind"] == "credit_note")
    assert note["references"]["invoice_number"] == "CN-2026-000001"
    paid_first = items[-1]
    assert paid_first["references"] == {
        "order_id": first["id"],
        "invoice_number": invoice["number"],
        "subscription_id": None,
    }
    assert items[3]["references"]["invoice_number"] is None  # never invoiced


async def test_pages_follow_the_cursor_without_a_gap_or_a_repeat(
    client: httpx.AsyncClient, shop: Shop, clock: FrozenClock
) -> None:
    orders = []
    for _ in range(3):
        orders.append(await buy(client, shop.event.id, shop.buyer.headers))
        await ask_invoice(client, orders[-1]["id"], shop.buyer.headers)
    # Two at the same moment: the id breaks the tie the same way on every page.
    await cancel(client, orders[0]["id"], shop.buyer.headers)
    clock.advance(seconds=1)
    await cancel(client, orders[1]["id"], shop.buyer.headers)

    everything = (await statement(client, shop.buyer.headers))["data"]
    assert len(everything) == 3 + 2 * 2
    for size in (1, 2, 3):
        assert await whole_statement(client, shop.buyer.headers, size) == everything


async def test_nobody_sees_someone_elses_money(client: httpx.AsyncClient, shop: Shop) -> None:
    order = await buy(client, shop.event.id, shop.buyer.headers)
    await cancel(client, order["id"], shop.buyer.headers)

    for someone in (shop.stranger, shop.organizer, shop.admin):
        assert await statement(client, someone.headers) == {"data": [], "next_cursor": None}
    # A guest's order is no signed-in user's.
    await buy(client, shop.event.id)
    assert len((await statement(client, shop.buyer.headers))["data"]) == 2
    assert (await client.get(TRANSACTIONS)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
    ],
)
async def test_a_bad_page_request_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, shop: Shop, params: dict[str, Any], field: str
) -> None:
    response = await client.get(TRANSACTIONS, headers=shop.buyer.headers, params=params)
    body = assert_envelope(response, 422, "validation_error")
    assert field in str(body["details"])


class _SubscriptionKind(StrEnum):
    CHARGE = "subscription_charge"
    REFUND = "subscription_refund"


@pytest.fixture
def subscriptions_of_the_buyer(shop: Shop) -> Iterator[str]:
    """A stand-in for subscriptions: the buyer owns one subscription, whose id the ledger keeps
    as the entries' gateway reference."""
    subscription_id = str(uuid.uuid4())
    source = transactions.Source(
        reference="subscription_id",
        column="gateway_ref",
        kinds=transactions.SUBSCRIPTION_KINDS,
        owned_by=lambda user_id: select(literal(subscription_id)).where(
            literal(str(user_id)) == shop.buyer.id
        ),
    )
    transactions.register_source(source)
    yield subscription_id
    transactions.unregister_source(source)


async def test_subscription_charges_and_refunds_plug_in_by_their_entry_kind(
    client: httpx.AsyncClient,
    runtime: Runtime,
    shop: Shop,
    clock: FrozenClock,
    subscriptions_of_the_buyer: str,
) -> None:
    async with runtime.unit_of_work() as uow:
        accounts = [
            LedgerAccount(
                organizer_id=shop.organizer.user.id,
                currency="USD",
                code=code,
                account_type=kind,
                event_id=None,
                created_at=clock.now(),
            )
            for code, kind in (("gateway_balance", "asset"), ("subscription_revenue", "revenue"))
        ]
        uow.session.add_all(accounts)
        await uow.flush()
        gateway, revenue = (a.id for a in accounts)
        for step, (kind, debit, credit) in enumerate(
            [
                (_SubscriptionKind.CHARGE, gateway, revenue),
                (_SubscriptionKind.REFUND, revenue, gateway),
            ]
        ):
            clock.advance(minutes=1)
            await post(
                uow,
                Draft(
                    key=f"test-subscription:{step}",
                    kind=cast(EntryKind, kind),
                    organizer_id=shop.organizer.user.id,
                    currency="USD",
                    lines=(Line(debit, debit=900), Line(credit, credit=900)),
                    gateway_ref=subscriptions_of_the_buyer,
                ),
            )

    items = (await statement(client, shop.buyer.headers))["data"]
    assert [(i["kind"], i["amount"]) for i in items] == [
        ("subscription_refund", "9.00"),
        ("subscription_charge", "-9.00"),
    ]
    assert items[0]["references"] == {
        "order_id": None,
        "invoice_number": None,
        "subscription_id": subscriptions_of_the_buyer,
    }
    assert (await statement(client, shop.stranger.headers))["data"] == []


def test_an_entry_kind_is_read_through_one_source_only() -> None:
    rival = transactions.Source(
        reference="order_id",
        column="order_id",
        kinds={"refund": transactions.Kind(transactions.REFUND, +1)},
        owned_by=transactions.ORDERS.owned_by,
    )
    with pytest.raises(ValueError, match="refund"):
        transactions.register_source(rival)
    transactions.register_source(transactions.ORDERS)  # the same one again: nothing changes
