"""Reconciliation asks the gateway about orders whose webhook never came, and settles them the
way the webhook would have: a paid buyer gets tickets, money for a closed order goes back."""

from __future__ import annotations

import httpx

from admitone.accounts.models import User
from admitone.core.clock import FrozenClock
from admitone.jobs import registry
from admitone.jobs.worker import drain
from admitone.payment_settlement.reconciliation import RECONCILE_JOB, reconcile
from admitone.payments.fake import FakeGateway, fake_fee
from admitone.runtime import Runtime
from admitone.ticketing.models import OrderStatus
from tests.payments.webhook_support import (  # noqa: F401 - fixtures
    buyer_confirms,
    entries_of,
    expire_while_the_gateway_is_down,
    pending_order,
    settings_fixture,
)
from tests.support.reads import counters
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    buy,
    emails_for,
    gateway_fixture,
    load_order,
    make_event,
    order_body,
    organizer_fixture,
    ticket_count,
)

AMOUNT = 2 * 5000


async def test_a_lost_webhook_is_repaired_tickets_issued_and_books_posted(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    await buyer_confirms(runtime, gateway, order["id"])  # paid at the gateway; no webhook

    assert await reconcile(runtime) == {}  # within the grace period: left alone
    clock.advance(minutes=11)
    effects = await reconcile(runtime)

    assert effects == {"paid": 1}
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
    assert await ticket_count(runtime, order["id"]) == 2
    await drain(runtime, queues=["emails"])  # the confirmation job
    assert [e.template for e in await emails_for(runtime, order["id"])] == ["order_confirmation"]
    # The gateway's answer carries the fee, so both entries post at once.
    assert await entries_of(runtime, order["id"]) == [
        ("payment_captured", AMOUNT),
        ("processing_fee", fake_fee(AMOUNT)),
    ]
    clock.advance(hours=1)
    assert await reconcile(runtime) == {}  # settled: never asked about again


async def test_a_payment_after_expiry_without_its_webhook_is_found_and_refunded(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    await expire_while_the_gateway_is_down(runtime, gateway, clock)
    await buyer_confirms(runtime, gateway, order["id"])
    clock.advance(minutes=11)

    assert await reconcile(runtime) == {"late_payment": 1}
    await drain(runtime)

    expired = await load_order(runtime, order["id"])
    assert expired.status == OrderStatus.EXPIRED and expired.refund_reference is not None
    assert gateway.net_captured() == 0
    assert [e.template for e in await emails_for(runtime, order["id"])] == ["late_payment_refunded"]
    assert await entries_of(runtime, order["id"]) == sorted(
        [
            ("late_payment", AMOUNT),
            ("late_payment_refunded", AMOUNT),
            ("processing_fee", fake_fee(AMOUNT)),
        ]
    )
    assert (await counters(runtime, event.id)).event == 0


async def test_an_intent_the_buyer_never_confirmed_is_left_to_expire(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    clock.advance(minutes=11)

    assert await reconcile(runtime) == {"ignored": 1}
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PENDING


async def test_a_run_is_bounded_and_the_next_one_takes_the_rest(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    orders = []
    for n in range(3):
        response = await buy(client, event.id, order_body(1, email=f"buyer{n}@example.com"))
        orders.append(response.json())
        await buyer_confirms(runtime, gateway, orders[-1]["id"])
    clock.advance(minutes=11)

    assert await reconcile(runtime, limit=2) == {"paid": 2}
    assert await reconcile(runtime, limit=2) == {"paid": 1}
    for order in orders:
        assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID


def test_reconciliation_is_an_hourly_cron_entry() -> None:
    [entry] = [e for e in registry.cron_entries() if e.kind == RECONCILE_JOB]
    assert entry.schedule.split()[1:] == ["*", "*", "*", "*"]
    assert registry.get_handler(RECONCILE_JOB) is not None
