"""``GET /api/payouts``: per event, UTC month and currency, what buyers paid (gross), what the
gateway kept (fees), what went back (refunds), the tax owed and the net (gross - fees - refunds
- tax); an organizer's own, staff every organizer's, over a bounded window of months."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger.accounts import account_id_for
from admitone.ledger.chart import AccountCode, EntryKind
from admitone.ledger.models import LedgerAccount
from admitone.ledger.posting import Draft, Line, post
from admitone.payments.fake import fake_fee
from admitone.runtime import Runtime
from tests.billing.conftest import Shop, buy, cancel, refund_part
from tests.conftest import login
from tests.support.envelope import assert_envelope
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import make_event

PAYOUTS = "/api/payouts"
TOTAL = 10_000  # two 50.00 tickets
FEE = fake_fee(TOTAL)


async def payouts(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(PAYOUTS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row[name] for name in ("month", "gross", "fees", "refunds", "tax", "net"))


async def fresh(client: httpx.AsyncClient, signed: Signed) -> dict[str, str]:
    tokens = await login(client, signed.user.email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def cents(amount: int) -> str:
    return f"{amount / 100:.2f}"


async def test_an_organizer_sees_each_month_of_an_event_and_net_is_what_they_keep(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, clock: FrozenClock
) -> None:
    kept = await buy(client, shop.event.id, shop.buyer.headers)
    returned = await buy(client, shop.event.id, shop.buyer.headers)
    await drain(runtime)
    clock.advance(days=31)  # into July: a new sign-in, the tokens have expired
    buyer, organizer = await fresh(client, shop.buyer), await fresh(client, shop.organizer)
    await cancel(client, returned["id"], buyer)
    assert await refund_part(runtime, kept["id"], 2_500, "re_part_payouts") == 2_500

    body = await payouts(client, organizer)
    assert (body["from_month"], body["to_month"]) == ("2025-08", "2026-07")
    assert [figures(row) for row in body["data"]] == [
        ("2026-07", "0.00", "0.00", cents(TOTAL + 2_500), "0.00", cents(-TOTAL - 2_500)),
        ("2026-06", cents(2 * TOTAL), cents(2 * FEE), "0.00", "0.00", cents(2 * TOTAL - 2 * FEE)),
    ]
    assert {(row["event_id"], row["organizer_id"]) for row in body["data"]} == {
        (str(shop.event.id), shop.organizer.id)
    }
    assert {row["currency"] for row in body["data"]} == {kept["currency"]}
    june = await payouts(client, organizer, **{"from": "2026-06", "to": "2026-06"})
    assert [row["month"] for row in june["data"]] == ["2026-06"]


async def test_tax_owed_is_taken_from_gross_and_a_refund_gives_back_its_share(
    runtime: Runtime, client: httpx.AsyncClient, shop: Shop, clock: FrozenClock
) -> None:
    """Tax is its own liability account per event (``tax_payable``): credited with a payment's
    tax, debited with a refund's share of it."""
    event_id = uuid.uuid4()
    organizer_id = shop.organizer.user.id
    async with runtime.unit_of_work() as uow:
        tax = LedgerAccount(
            organizer_id=organizer_id,
            currency="EUR",
            code="tax_payable",
            account_type="liability",
            event_id=event_id,
            created_at=clock.now(),
        )
        uow.session.add(tax)
        await uow.flush()

        async def account(code: AccountCode) -> uuid.UUID:
            return await account_id_for(uow, organizer_id, "EUR", code, event_id)

        gateway = await account(AccountCode.GATEWAY_BALANCE)
        revenue = await account(AccountCode.TICKET_REVENUE)
        refunds = await account(AccountCode.REFUNDS)
        for key, kind, lines in (
            (
                "taxed-payment",
                EntryKind.PAYMENT_CAPTURED,
                (Line(gateway, debit=1_100), Line(revenue, credit=1_000), Line(tax.id, credit=100)),
            ),
            (
                "taxed-refund",
                EntryKind.REFUND,
                (Line(refunds, debit=500), Line(tax.id, debit=50), Line(gateway, credit=550)),
            ),
        ):
            await post(
                uow,
                Draft(
                    key=key,
                    kind=kind,
                    organizer_id=organizer_id,
                    currency="EUR",
                    lines=lines,
                    event_id=event_id,
                ),
            )

    [row] = (await payouts(client, shop.organizer.headers, event_id=str(event_id)))["data"]
    assert figures(row) == ("2026-06", "11.00", "0.00", "5.50", "0.50", "5.00")
    assert row["currency"] == "EUR"


async def test_organizers_see_their_own_and_staff_everyones(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop
) -> None:
    other = await sign_in(client, runtime, Role.ORGANIZER)
    theirs = await make_event(runtime, other.user)
    await buy(client, shop.event.id, shop.buyer.headers)
    await buy(client, theirs.id, shop.buyer.headers)

    def events(body: dict[str, Any]) -> set[str]:
        return {row["event_id"] for row in body["data"]}

    assert events(await payouts(client, shop.organizer.headers)) == {str(shop.event.id)}
    assert events(await payouts(client, other.headers)) == {str(theirs.id)}
    # Another organizer's id asked for by an organizer: still only their own books, so none.
    asked = await payouts(client, other.headers, organizer_id=shop.organizer.id)
    assert asked["data"] == []
    assert events(await payouts(client, shop.admin.headers)) == {str(shop.event.id), str(theirs.id)}
    only = await payouts(client, shop.admin.headers, organizer_id=other.id)
    assert events(only) == {str(theirs.id)}
    by_event = await payouts(client, shop.admin.headers, event_id=str(shop.event.id))
    assert events(by_event) == {str(shop.event.id)}

    assert_envelope(
        await client.get(PAYOUTS, headers=shop.buyer.headers), 403, "billing_organizers_only"
    )
    assert (await client.get(PAYOUTS)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-07", "to": "2026-06"}, "from"),
        ({"from": "2025-01", "to": "2026-06"}, "from"),  # more than 12 months
        ({"from": "2026-13"}, "from"),
        ({"to": "26-06"}, "to"),
        ({"to": "1969-12"}, "to"),
        ({"event_id": "not-a-uuid"}, "event_id"),
    ],
)
async def test_a_bad_window_or_filter_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, shop: Shop, params: dict[str, str], field: str
) -> None:
    response = await client.get(PAYOUTS, headers=shop.organizer.headers, params=params)
    body = assert_envelope(response, 422, "validation_error")
    assert field in str(body["details"])
