"""The closing property of the payments issue: after any sequence of purchases, payments in the
browser, failures, expiries, cancels, dashboard refunds, webhooks (replayed, out of order, some
lost and repaired by reconciliation), every organizer's books balance, and what the ledger says
the gateway holds for them equals what the gateway's own records say it holds: captured minus
refunded (partial refunds included) minus its fees."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.core.errors import DomainError
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger
from admitone.payment_settlement import webhooks
from admitone.payment_settlement.reconciliation import reconcile
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import Charge, ChargeStatus
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.idempotency import charge_key
from admitone.ticketing.models import CancelReason
from tests.conftest import create_user
from tests.payments.webhook_support import (  # noqa: F401 - fixture
    intent_event,
    refund_event,
    refunded_event,
    settings_fixture,
)
from tests.ticketing.conftest import make_event

STAFF = ticketing_service.Viewer(is_staff=True)
# At checkout: paid at once, an intent for the browser, declined, or lost after the charge.
CHECKOUT_METHODS = ("pm_card_visa", None, "pm_card_chargeDeclined", "pm_card_timeoutAfterCharge")
BROWSER_METHODS = ("pm_card_visa", "pm_card_chargeDeclined")


@dataclass
class World:
    runtime: Runtime
    gateway: FakeGateway
    clock: FrozenClock
    organizers: list[uuid.UUID]
    events: list[uuid.UUID]
    orders: list[uuid.UUID] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    buyers: int = 0


Step = tuple[str, int, int]  # (action, which organizer or order, a variant)

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "buy",
                "buy",
                "browser",
                "webhook",
                "replay",
                "expire",
                "cancel",
                "dashboard_refund",
                "reconcile",
            ]
        ),
        st.integers(0, 30),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_every_organizers_books_balance_and_equal_what_the_gateway_holds(
    runtime: Runtime, clock: FrozenClock, steps: list[Step]
) -> None:
    world = await _new_world(runtime, clock)
    for action, target, variant in steps:
        await ACTIONS[action](world, target, variant)
    await _settle_everything(world)

    held: Counter[uuid.UUID] = Counter()
    async with runtime.unit_of_work(readonly=True) as uow:
        for charge in world.gateway.succeeded_charges():
            order = await ticketing_service.payment_of(uow, uuid.UUID(charge.metadata["order_id"]))
            assert order is not None
            snapshot = await ticketing_service.order_for_viewer(uow, order.order_id, STAFF)
            organizer = world.organizers[world.events.index(snapshot.event_id)]
            held[organizer] += charge.amount - charge.amount_refunded - (charge.fee or 0)
        for organizer in world.organizers:
            trial = await ledger.trial_balance(uow, organizer_id=organizer)
            assert trial.balanced, trial.unbalanced_books
            assert await ledger.gateway_balance(uow, organizer, "USD") == held[organizer]
        # And no buyer's money is kept for an order that is not paid.
        for order_id in world.orders:
            order = await ticketing_service.payment_of(uow, order_id)
            assert order is not None
            if order.status not in {"paid"} and order.payment_reference:
                charge = await world.gateway.retrieve_charge(order.payment_reference)
                if charge.status is ChargeStatus.SUCCEEDED:
                    assert charge.amount_refunded == charge.amount, order


async def _new_world(runtime: Runtime, clock: FrozenClock) -> World:
    # A fresh gateway and fresh organizers per example: examples share the database, never
    # the books or the gateway's records they are compared with.
    gateway = FakeGateway()
    runtime.gateway = gateway
    organizers, events = [], []
    for _ in range(2):
        organizer = await create_user(runtime, Role.ORGANIZER)
        organizers.append(organizer.id)
        events.append((await make_event(runtime, organizer)).id)
    return World(runtime, gateway, clock, organizers, events)


async def _buy(world: World, target: int, variant: int) -> None:
    world.buyers += 1
    request = ticketing_service.PurchaseRequest(
        event_id=world.events[target % len(world.events)],
        customer_email=f"buyer{world.buyers}@example.com",
        customer_name="Buyer",
        items=[(None, 1 + variant % 2)],
        payment_method=CHECKOUT_METHODS[variant],
    )
    try:
        result = await ticketing_service.purchase(
            world.runtime.unit_of_work, world.gateway, world.runtime.settings, request
        )
        world.orders.append(result.order.id)
    except DomainError as refused:
        # Declined or lost at checkout: the order exists all the same.
        order_id = refused.details.get("order_id")
        if order_id:
            world.orders.append(uuid.UUID(order_id))


async def _charge_of(world: World, target: int) -> tuple[uuid.UUID, Charge] | None:
    if not world.orders:
        return None
    order_id = world.orders[target % len(world.orders)]
    charge = await world.gateway.find_charge(charge_key(order_id))
    return (order_id, charge) if charge else None


async def _browser(world: World, target: int, variant: int) -> None:
    found = await _charge_of(world, target)
    if found and found[1].status is ChargeStatus.REQUIRES_ACTION:
        await world.gateway.confirm_charge(
            found[1].id,
            payment_method=BROWSER_METHODS[variant % 2],
            idempotency_key=f"browser-{found[1].id}",
        )


async def _webhook(world: World, target: int, variant: int) -> None:
    found = await _charge_of(world, target)
    if found is None:
        return
    charge = await world.gateway.retrieve_charge(found[1].id)
    if charge.amount_refunded:
        event = refunded_event(charge, world.gateway.refunds_of(charge.id)[0].id)
    elif charge.status is ChargeStatus.SUCCEEDED:
        event = intent_event("payment_intent.succeeded", charge)
    elif charge.status is ChargeStatus.FAILED:
        event = intent_event("payment_intent.payment_failed", charge)
    else:
        return
    await _deliver(world, event)


async def _deliver(world: World, event: dict[str, Any]) -> None:
    world.delivered.append(event)
    async with world.runtime.unit_of_work() as uow:
        await webhooks.process(
            uow,
            world.runtime.settings,
            webhooks.WebhookEvent(event["id"], event["type"], event["data"]["object"]),
        )


async def _replay(world: World, target: int, variant: int) -> None:
    if world.delivered:
        await _deliver(world, world.delivered[target % len(world.delivered)])


async def _expire(world: World, target: int, variant: int) -> None:
    world.clock.advance(minutes=16)
    await drain(world.runtime)


async def _cancel(world: World, target: int, variant: int) -> None:
    if not world.orders:
        return
    with contextlib.suppress(DomainError):  # not cancellable any more: fine
        await ticketing_service.cancel_order(
            world.runtime.unit_of_work,
            world.gateway,
            world.orders[target % len(world.orders)],
            STAFF,
            reason_code=CancelReason.OTHER,
        )


async def _dashboard_refund(world: World, target: int, variant: int) -> None:
    found = await _charge_of(world, target)
    if found is None:
        return
    charge = await world.gateway.retrieve_charge(found[1].id)
    left = charge.amount - charge.amount_refunded
    if charge.status is ChargeStatus.SUCCEEDED and left:
        # Whole, or a part of what is left.
        refund = await world.gateway.refund(
            charge.id,
            idempotency_key=f"dashboard-{charge.id}-{charge.amount_refunded}",
            amount=None if variant < 2 else max(1, left // 2),
        )
        if variant % 2:  # its webhooks arrive; otherwise they are lost
            after = await world.gateway.retrieve_charge(charge.id)
            await _deliver(world, refund_event(refund))
            await _deliver(world, refunded_event(after, refund.id))


async def _reconcile(world: World, target: int, variant: int) -> None:
    world.clock.advance(minutes=11)
    await reconcile(world.runtime)


async def _settle_everything(world: World) -> None:
    """Stripe delivers every event in the end (here, the final state of each charge once),
    reconciliation runs, and every job due runs."""
    for refund in world.gateway.refunds:
        await _deliver(world, refund_event(refund))
    for index in range(len(world.orders)):
        await _webhook(world, index, 0)
    for _ in range(3):
        world.clock.advance(minutes=11)
        await reconcile(world.runtime)
        await drain(world.runtime)


ACTIONS = {
    "buy": _buy,
    "browser": _browser,
    "webhook": _webhook,
    "replay": _replay,
    "expire": _expire,
    "cancel": _cancel,
    "dashboard_refund": _dashboard_refund,
    "reconcile": _reconcile,
}
