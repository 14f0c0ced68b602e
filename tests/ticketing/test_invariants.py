"""A stateful property test over purchase / pay / fail / expire / cancel, driving the services
directly. After every step: each counter equals the sum of the live orders' reservations and
stays within its cap, every paid order has exactly its valid tickets, and no money is kept for
an order that is not paid.

The machine runs on one loop and one runtime for all its examples (tests/support/loop_machines.py);
each example sells a new event."""

from __future__ import annotations

import contextlib
import uuid

from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job kinds must be registered to enqueue them
from admitone.core.errors import DomainError
from admitone.payments.fake import FakeGateway
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.models import LIVE_STATUSES, CancelReason, Order, OrderStatus, Ticket
from admitone.ticketing.purchase.settle import PaymentOutcome
from tests.support.loop_machines import LoopMachine, Venue, on_loop, open_venue, run_machine
from tests.support.reads import counters
from tests.ticketing.conftest import make_event

TIER_CAPS = (5, 4)
EVENT_CAP = 7
BUYERS = ("ann@example.com", "bob@example.com", "cy@example.com")
METHODS = (
    "pm_card_visa",
    "pm_card_chargeDeclined",
    "pm_card_timeout",
    "pm_card_timeoutAfterCharge",
    None,
)
STAFF = ticketing_service.Viewer(is_staff=True)


class OrderLifecycle(LoopMachine):
    def __init__(self, venue: Venue) -> None:
        super().__init__(venue)
        self.settings = venue.runtime.settings
        self.gateway = FakeGateway()  # no default card: None leaves a payment intent
        self.order_ids: list[uuid.UUID] = []
        self.event = venue.run(
            make_event(
                self.runtime,
                venue.organizer,
                tiers=[("A", "10.00", TIER_CAPS[0]), ("B", "15.00", TIER_CAPS[1])],
                max_attendees=EVENT_CAP,
            )
        )

    async def _orders(self, status: OrderStatus | None = None) -> list[Order]:
        stmt = select(Order).where(Order.event_id == self.event.id).order_by(Order.id)
        if status is not None:
            stmt = stmt.where(Order.status == status.value)
        async with self.runtime.unit_of_work(readonly=True) as uow:
            return list(await uow.session.scalars(stmt))

    # -- rules ----------------------------------------------------------------------------------

    @rule(
        buyer=st.sampled_from(BUYERS),
        a=st.integers(0, 4),
        b=st.integers(0, 4),
        method=st.sampled_from(METHODS),
    )
    @on_loop
    async def purchase(self, buyer: str, a: int, b: int, method: str | None) -> None:
        items = [(t, q) for t, q in zip(self.event.tier_ids, (a, b), strict=True) if q]
        request = ticketing_service.PurchaseRequest(
            event_id=self.event.id,
            customer_email=buyer,
            customer_name="Buyer",
            items=items,
            payment_method=method,
        )
        try:
            result = await ticketing_service.purchase(
                self.runtime.unit_of_work, self.gateway, self.settings, request
            )
            self.order_ids.append(result.order.id)
        except DomainError:
            pass

    @rule(data=st.data(), succeed=st.booleans())
    @on_loop
    async def gateway_answers_a_payment_intent(self, data: st.DataObject, succeed: bool) -> None:
        pending = await self._orders(OrderStatus.PENDING)
        if not pending:
            return
        order = data.draw(st.sampled_from(pending))
        if order.payment_reference is None:
            return
        method = "pm_card_visa" if succeed else "pm_card_chargeDeclined"
        charge = await self.gateway.confirm_charge(
            order.payment_reference, payment_method=method, idempotency_key="c"
        )
        with contextlib.suppress(DomainError):
            await ticketing_service.settle(
                self.runtime.unit_of_work,
                self.gateway,
                self.settings,
                order.id,
                ticketing_service.outcome_of(charge),
            )

    @rule(data=st.data())
    @on_loop
    async def payment_fails(self, data: st.DataObject) -> None:
        pending = await self._orders(OrderStatus.PENDING)
        if not pending:
            return
        order = data.draw(st.sampled_from(pending))
        with contextlib.suppress(DomainError):
            await ticketing_service.settle(
                self.runtime.unit_of_work,
                self.gateway,
                self.settings,
                order.id,
                PaymentOutcome("failed", reason="card_declined"),
            )

    @rule()
    @on_loop
    async def time_passes_and_pending_orders_expire(self) -> None:
        self.venue.clock.advance(minutes=16)
        async with self.runtime.unit_of_work(readonly=True) as uow:
            due = await ticketing_service.orders_due_for_expiry(uow)
        for order_id in due:
            async with self.runtime.unit_of_work() as uow:
                await ticketing_service.expire_order(uow, order_id)
        for order_id in self.order_ids:  # what the refund job does
            with contextlib.suppress(DomainError):
                await ticketing_service.complete_refund(
                    self.runtime.unit_of_work, self.gateway, order_id
                )

    @rule(data=st.data())
    @on_loop
    async def cancel(self, data: st.DataObject) -> None:
        if not self.order_ids:
            return
        order_id = data.draw(st.sampled_from(self.order_ids))
        with contextlib.suppress(DomainError):
            await ticketing_service.cancel_order(
                self.runtime.unit_of_work,
                self.gateway,
                order_id,
                STAFF,
                reason_code=CancelReason.OTHER,
            )

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    @on_loop
    async def counters_are_the_sum_of_live_reservations_within_caps(self) -> None:
        taken = await counters(self.runtime, self.event.id)
        async with self.runtime.unit_of_work(readonly=True) as uow:
            live = [
                await ticketing_service.order_for_viewer(uow, o.id, STAFF)
                for o in await self._orders()
                if o.status in LIVE_STATUSES
            ]
        per_tier = dict.fromkeys(self.event.tier_ids, 0)
        for order in live:
            for line in order.lines:
                if line.tier_id is not None:  # tickets only: product lines hold stock
                    per_tier[line.tier_id] += line.quantity
        assert taken.tiers == per_tier
        assert taken.event == sum(per_tier.values()) <= EVENT_CAP
        for tier_id, cap in zip(self.event.tier_ids, TIER_CAPS, strict=True):
            assert taken.tiers[tier_id] <= cap

    @invariant()
    @on_loop
    async def every_paid_order_has_its_tickets_and_nothing_else_is_valid(self) -> None:
        async with self.runtime.unit_of_work(readonly=True) as uow:
            for order in await self._orders():
                tickets = list(
                    await uow.session.scalars(select(Ticket).where(Ticket.order_id == order.id))
                )
                valid = [t for t in tickets if t.status == "valid"]
                if order.status == OrderStatus.PAID:
                    assert len(valid) == len(tickets) == order.quantity
                else:
                    assert valid == []

    @invariant()
    @on_loop
    async def money_is_kept_only_for_paid_orders(self) -> None:
        orders = await self._orders()
        kept = {
            c.metadata.get("order_id"): c.amount - c.amount_refunded
            for c in self.gateway.succeeded_charges()
        }
        for order in orders:
            held = kept.get(str(order.id), 0)
            if order.status == OrderStatus.PAID:
                assert held == order.total_amount
            elif not order.refund_due:
                assert held == 0, (order.status, held)


def test_order_lifecycle_keeps_counters_and_money_true(database_url: str) -> None:
    with open_venue(database_url) as venue:
        run_machine(lambda: OrderLifecycle(venue), max_examples=12)
