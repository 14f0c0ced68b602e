"""Payment timeout: pending orders expire, give their seats back, and can no longer be paid."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import delete

from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.jobs.models import Job
from admitone.jobs.registry import JobContext, cron_entries
from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import Charge, ChargeStatus
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.errors import OrderNoLongerPayable
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.jobs import SWEEP_ORDERS_JOB, sweep_orders_job
from admitone.ticketing.models import OrderStatus
from admitone.ticketing.purchase.settle import outcome_of
from tests.support.reads import counters, jobs_of
from tests.ticketing.conftest import buy, load_order, make_event, order_body, ticket_count


async def _pending_order(client: httpx.AsyncClient, event_id: uuid.UUID, **kw: object) -> str:
    response = await buy(client, event_id, order_body(2, **kw))  # type: ignore[arg-type]
    assert response.status_code == 201 and response.json()["status"] == "pending"
    order_id: str = response.json()["id"]
    return order_id


async def _buyer_confirms(runtime: Runtime, gateway: FakeGateway, order_id: uuid.UUID) -> Charge:
    """The buyer confirms the payment intent in the browser (seed 002)."""
    intent = (await load_order(runtime, order_id)).payment_reference
    assert intent is not None
    return await gateway.confirm_charge(
        intent, payment_method="pm_card_visa", idempotency_key=f"{charge_key(order_id)}-confirm"
    )


async def test_an_unpaid_order_expires_after_the_timeout_and_frees_its_seats(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = await _pending_order(client, event.id)

    clock.advance(minutes=14, seconds=59)
    await drain(runtime)
    assert (await load_order(runtime, order_id)).status == OrderStatus.PENDING

    clock.advance(seconds=1)
    await drain(runtime)

    assert (await load_order(runtime, order_id)).status == OrderStatus.EXPIRED
    assert (await counters(runtime, event.id)).event == 0


async def test_the_sweep_expires_orders_whose_job_was_lost(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:

    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = await _pending_order(client, event.id)
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(delete(Job))
    clock.advance(minutes=16)

    await sweep_orders_job(JobContext(uuid.uuid4(), SWEEP_ORDERS_JOB, 1, 1, {}, runtime))

    assert (await load_order(runtime, order_id)).status == OrderStatus.EXPIRED
    assert (await counters(runtime, event.id)).event == 0


async def test_the_sweep_is_a_cron_entry_every_minute() -> None:

    assert any(e.kind == SWEEP_ORDERS_JOB and e.schedule == "* * * * *" for e in cron_entries())


async def test_a_payment_made_by_the_deadline_but_not_yet_settled_pays_the_order_at_expiry(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = uuid.UUID(await _pending_order(client, event.id))
    # The buyer pays at the last second; its answer (the webhook) has not arrived.
    await _buyer_confirms(runtime, gateway, order_id)
    clock.advance(minutes=15)

    await drain(runtime)

    order = await load_order(runtime, order_id)
    assert order.status == OrderStatus.PAID and await ticket_count(runtime, order_id) == 2
    assert (await counters(runtime, event.id)).event == 2
    assert gateway.net_captured() == 10000 and gateway.refunds == []


async def test_an_expired_order_has_its_payment_intent_cancelled(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = uuid.UUID(await _pending_order(client, event.id))
    clock.advance(minutes=15)

    await drain(runtime)

    assert (await load_order(runtime, order_id)).status == OrderStatus.EXPIRED
    [charge] = gateway.charges
    assert charge.failure_reason == "canceled"
    stale_tab = await _buyer_confirms(runtime, gateway, order_id)
    assert stale_tab.status is not ChargeStatus.SUCCEEDED and gateway.net_captured() == 0


async def test_a_payment_landing_after_expiry_is_refunded_and_issues_no_tickets(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = uuid.UUID(await _pending_order(client, event.id))
    # The order expires while the gateway is down, so its intent is not cancelled yet ...
    gateway.set_failure_mode("unavailable")
    clock.advance(minutes=15)
    await drain(runtime)
    gateway.set_failure_mode(None)
    assert (await load_order(runtime, order_id)).status == OrderStatus.EXPIRED
    # ... and a stale browser tab pays it.
    charge = await _buyer_confirms(runtime, gateway, order_id)

    try:
        await ticketing_service.settle(
            runtime.unit_of_work, gateway, runtime.settings, order_id, outcome_of(charge)
        )
    except OrderNoLongerPayable as refused:
        assert refused.details["refunded"] is True
    else:
        raise AssertionError("an expired order was paid")

    order = await load_order(runtime, order_id)
    assert order.status == OrderStatus.EXPIRED and order.refund_reference is not None
    assert await ticket_count(runtime, order_id) == 0
    assert gateway.net_captured() == 0
    assert (await counters(runtime, event.id)).event == 0


async def test_the_cancel_job_refunds_a_payment_that_beat_it_to_a_closed_order(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = uuid.UUID(await _pending_order(client, event.id))
    gateway.set_failure_mode("unavailable")
    clock.advance(minutes=15)
    await drain(runtime)
    gateway.set_failure_mode(None)
    await _buyer_confirms(runtime, gateway, order_id)  # its webhook is lost

    clock.advance(minutes=2)  # the cancel job's retry
    await drain(runtime)
    clock.advance(minutes=2)
    await drain(runtime)

    order = await load_order(runtime, order_id)
    assert order.status == OrderStatus.EXPIRED and order.refund_reference is not None
    assert gateway.net_captured() == 0 and len(gateway.refunds) == 1
    assert (await counters(runtime, event.id)).event == 0


async def test_expiry_racing_a_payment_settles_the_order_one_way(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:

    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = uuid.UUID(await _pending_order(client, event.id))
    charge = await _buyer_confirms(runtime, gateway, order_id)
    clock.advance(minutes=15)

    async def pay() -> str:
        try:
            await ticketing_service.settle(
                runtime.unit_of_work, gateway, runtime.settings, order_id, outcome_of(charge)
            )
        except OrderNoLongerPayable:
            return "refused"
        return "paid"

    async def expire() -> str:
        async with runtime.unit_of_work() as uow:
            return "expired" if await ticketing_service.expire_order(uow, order_id) else "late"

    results = set(await asyncio.gather(pay(), expire()))

    order = await load_order(runtime, order_id)
    if order.status == OrderStatus.PAID:
        assert results == {"paid", "late"}
        assert await ticket_count(runtime, order_id) == 2
        assert (await counters(runtime, event.id)).event == 2
        assert gateway.net_captured() == 10000
    else:
        assert results == {"refused", "expired"}
        assert order.status == OrderStatus.EXPIRED
        assert await ticket_count(runtime, order_id) == 0
        assert (await counters(runtime, event.id)).event == 0
        assert gateway.net_captured() == 0


async def test_each_pending_order_schedules_its_own_expiry_job(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    await _pending_order(client, event.id)
    [job] = await jobs_of(runtime, "ticketing.expire_order")
    assert job.run_at == clock.now().replace(microsecond=0) + (job.run_at - clock.now())
    assert (job.run_at - clock.now()).total_seconds() == 15 * 60


async def test_an_event_whose_only_order_expired_unpaid_can_be_deleted(
    client: httpx.AsyncClient, runtime: Runtime, organizer, gateway: FakeGateway, clock
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer)
    order_id = await _pending_order(client, event.id)
    actor = Actor(organizer.id, organizer.role)
    async with runtime.unit_of_work() as uow:
        # While the order may still be paid, the event keeps it.
        assert await events_service.has_existing_orders(uow, actor, event.id)

    clock.advance(minutes=15)
    await drain(runtime)
    assert (await load_order(runtime, order_id)).status == OrderStatus.EXPIRED

    async with runtime.unit_of_work() as uow:
        assert not await events_service.has_existing_orders(uow, actor, event.id)
