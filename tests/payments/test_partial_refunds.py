"""Refunds made in the gateway's dashboard, whole or partial: each is posted to the ledger once
(by its refund id, whatever events announce it and in whatever order), counted on the order and
shown with it. A partial refund leaves the order paid and its tickets valid."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest

from admitone.accounts.models import User
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger
from admitone.payments.fake import FakeGateway, fake_fee
from admitone.payments.gateway import Charge, Refund
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.models import CancelReason, Order, OrderStatus
from tests.payments.webhook_support import (  # noqa: F401 - fixtures
    activity_of,
    buyer_confirms,
    entries_of,
    expire_while_the_gateway_is_down,
    intent_event,
    pending_order,
    post_webhook,
    refund_event,
    refunded_event,
    settings_fixture,
)
from tests.support.reads import counters
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    gateway_fixture,
    load_order,
    make_event,
    organizer_fixture,
    ticket_count,
)

TOTAL = 2 * 5000
FEE = fake_fee(TOTAL)


async def paid_order(
    client: httpx.AsyncClient, runtime: Runtime, gateway: FakeGateway, organizer: User
) -> tuple[dict[str, Any], Charge]:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    assert (await post_webhook(client, intent_event("payment_intent.succeeded", charge))).json()[
        "outcome"
    ] == "paid"
    return order, charge


async def from_dashboard(gateway: FakeGateway, charge: Charge, amount: int, n: int) -> Refund:
    return await gateway.refund(charge.id, idempotency_key=f"dashboard-{n}", amount=amount)


async def staff_cancels(runtime: Runtime, gateway: FakeGateway, order: dict[str, Any]) -> Order:
    """Staff cancel someone else's order for them: with a reason code, as they must."""
    return await ticketing_service.cancel_order(
        runtime.unit_of_work,
        gateway,
        uuid.UUID(order["id"]),
        ticketing_service.Viewer(is_staff=True),
        reason_code=CancelReason.CUSTOMER_REQUEST,
    )


async def outcome(client: httpx.AsyncClient, event: dict[str, Any]) -> str:
    response = await post_webhook(client, event)
    assert response.status_code == 200, response.text
    return str(response.json()["outcome"])


async def shown(client: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(
        f"/api/orders/by-reference/{order['reference']}", params={"token": order["access_token"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def books_equal_the_gateway(runtime: Runtime, organizer: User, gateway: FakeGateway) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        trial = await ledger.trial_balance(uow, organizer_id=organizer.id)
        assert trial.balanced, trial.unbalanced_books
        held = await ledger.gateway_balance(uow, organizer.id, "USD")
    assert held == gateway.net_captured() - sum(c.fee or 0 for c in gateway.succeeded_charges())
    return held


async def test_a_partial_refund_in_the_dashboard_is_posted_once_and_shown_on_the_paid_order(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    order, charge = await paid_order(client, runtime, gateway, organizer)
    clock.advance(minutes=1)
    await drain(runtime)  # the fee
    refund = await from_dashboard(gateway, charge, 3000, 1)
    created = refund_event(refund)

    assert await outcome(client, created) == "refund_recorded"
    assert await outcome(client, created) == "duplicate"
    # The other events Stripe sends about the same refund count nothing again.
    assert await outcome(client, refund_event(refund, "charge.refund.updated")) == "ignored"
    after = await gateway.retrieve_charge(charge.id)
    assert await outcome(client, refunded_event(after)) == "partial_refund"

    body = await shown(client, order)
    assert (body["status"], body["total"], body["refunded"]) == ("paid", "100.00", "30.00")
    assert await ticket_count(runtime, order["id"]) == 2
    assert await entries_of(runtime, order["id"]) == [
        ("payment_captured", TOTAL),
        ("processing_fee", FEE),
        ("refund", 3000),
    ]
    assert await books_equal_the_gateway(runtime, organizer, gateway) == TOTAL - FEE - 3000
    [entry] = await activity_of(runtime, "ticketing.order_partially_refunded")
    assert entry.meta["refund_amount"] == 3000


@pytest.mark.parametrize(
    "arrival",
    ["refund_events_first", "charge_event_first", "first_refund_event_lost"],
)
async def test_partial_refunds_that_add_up_to_the_total_refund_the_order_once(  # noqa: PLR0917
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
    arrival: str,
) -> None:
    order, charge = await paid_order(client, runtime, gateway, organizer)
    clock.advance(minutes=1)
    await drain(runtime)
    first = await from_dashboard(gateway, charge, 3000, 1)
    if arrival != "first_refund_event_lost":
        assert await outcome(client, refund_event(first)) == "refund_recorded"
    rest = await from_dashboard(gateway, charge, TOTAL - 3000, 2)
    whole = refunded_event(await gateway.retrieve_charge(charge.id))

    if arrival == "refund_events_first":
        assert await outcome(client, refund_event(rest)) == "refund_recorded"
        assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
        assert await outcome(client, whole) == "refunded"
    else:
        assert await outcome(client, whole) == "refunded"
        assert await outcome(client, refund_event(rest)) == "ignored"
    if arrival == "first_refund_event_lost":
        assert await outcome(client, refund_event(first)) == "ignored"  # counted already

    refunded = await load_order(runtime, order["id"])
    assert refunded.status == OrderStatus.REFUNDED
    assert await ticket_count(runtime, order["id"], "void") == 2
    assert (await counters(runtime, refunded.event_id)).event == 0
    assert (await shown(client, order))["refunded"] == "100.00"
    entries = await entries_of(runtime, order["id"])
    assert sum(amount for kind, amount in entries if kind == "refund") == TOTAL
    assert await books_equal_the_gateway(runtime, organizer, gateway) == -FEE


async def test_cancelling_a_partially_refunded_order_refunds_what_is_left(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    order, charge = await paid_order(client, runtime, gateway, organizer)
    clock.advance(minutes=1)
    await drain(runtime)
    partial = await from_dashboard(gateway, charge, 2500, 1)
    assert await outcome(client, refund_event(partial)) == "refund_recorded"

    cancelled = await staff_cancels(runtime, gateway, order)

    assert cancelled.status == OrderStatus.REFUNDED
    [_, ours] = gateway.refunds_of(charge.id)
    assert ours.amount == TOTAL - 2500
    # Stripe's events about our own refund change nothing.
    assert await outcome(client, refund_event(ours)) == "ignored"
    after = await gateway.retrieve_charge(charge.id)
    assert await outcome(client, refunded_event(after)) == "ignored"
    assert (await shown(client, order))["refunded"] == "100.00"
    assert sorted(a for k, a in await entries_of(runtime, order["id"]) if k == "refund") == [
        2500,
        TOTAL - 2500,
    ]
    assert await books_equal_the_gateway(runtime, organizer, gateway) == -FEE


async def test_a_dashboard_refund_our_full_refund_left_uncounted_is_counted_by_the_charge_event(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    order, charge = await paid_order(client, runtime, gateway, organizer)
    clock.advance(minutes=1)
    await drain(runtime)
    await from_dashboard(gateway, charge, 4000, 1)  # its own event never comes
    await staff_cancels(runtime, gateway, order)
    assert (await shown(client, order))["refunded"] == "60.00"

    whole = refunded_event(await gateway.retrieve_charge(charge.id))
    assert await outcome(client, whole) == "refunded"
    assert await outcome(client, refunded_event(await gateway.retrieve_charge(charge.id))) == (
        "ignored"
    )

    assert (await shown(client, order))["refunded"] == "100.00"
    assert await books_equal_the_gateway(runtime, organizer, gateway) == -FEE


async def test_a_refund_counts_once_it_has_succeeded_and_a_failed_one_never(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    order, charge = await paid_order(client, runtime, gateway, organizer)
    refund = await from_dashboard(gateway, charge, 3000, 1)
    other = await from_dashboard(gateway, charge, 1000, 2)

    pending = replace(refund, status="pending")
    assert await outcome(client, refund_event(pending)) == "ignored"
    assert (await shown(client, order))["refunded"] == "0.00"
    failed = replace(other, status="failed")
    assert await outcome(client, refund_event(failed, "refund.updated")) == "ignored"
    assert await outcome(client, refund_event(refund, "refund.updated")) == "refund_recorded"

    assert (await shown(client, order))["refunded"] == "30.00"
    assert [k for k, _ in await entries_of(runtime, order["id"])] == ["payment_captured", "refund"]


async def test_a_late_payment_partly_refunded_in_the_dashboard_goes_back_in_full(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    await expire_while_the_gateway_is_down(runtime, gateway, clock)
    charge = await buyer_confirms(runtime, gateway, order["id"])  # a stale browser tab
    partial = await from_dashboard(gateway, charge, 3000, 1)
    after = await gateway.retrieve_charge(charge.id)

    assert await outcome(client, refunded_event(after)) == "late_payment"
    assert await outcome(client, refund_event(partial)) == "ignored"  # not revenue
    await drain(runtime)  # the refund of what is left, its email and the fee

    assert [r.amount for r in gateway.refunds_of(charge.id)] == [3000, TOTAL - 3000]
    assert gateway.net_captured() == 0
    expired = await load_order(runtime, order["id"])
    assert expired.status == OrderStatus.EXPIRED and expired.refund_reference is not None
    assert await entries_of(runtime, order["id"]) == [
        ("late_payment", TOTAL),
        ("late_payment_refunded", TOTAL),
        ("processing_fee", FEE),
    ]
    assert await books_equal_the_gateway(runtime, organizer, gateway) == -FEE
