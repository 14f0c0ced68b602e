"""A stateful property test over purchase / pay / fail / expire / cancel, driving the services
directly. After every step: each counter equals the sum of the live orders' reservations and
stays within its cap, every paid order has exactly its valid tickets, and no money is kept for
an order that is not paid."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job kinds must be registered to enqueue them
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.core.errors import DomainError
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.models import LIVE_STATUSES, CancelReason, Order, OrderStatus, Ticket
from admitone.ticketing.settlement import PaymentOutcome
from tests.conftest import TEST_SECRET, create_user
from tests.support.reads import counters
from tests.ticketing.conftest import make_event

T = TypeVar("T")
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


def test_order_lifecycle_keeps_counters_and_money_true(database_url: str) -> None:
    loop = asyncio.new_event_loop()
    clock = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    app_settings = Settings(
        env="test", secret_key=TEST_SECRET, database_url=database_url, run_worker_in_process=False
    )
    runtime = Runtime.build(app_settings, clock)

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return loop.run_until_complete(coro)

    organizer = run(create_user(runtime, Role.ORGANIZER))

    class OrderLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.gateway = FakeGateway()  # no default card: None leaves a payment intent
            self.event = run(
                make_event(
                    runtime,
                    organizer,
                    tiers=[("A", "10.00", TIER_CAPS[0]), ("B", "15.00", TIER_CAPS[1])],
                    max_attendees=EVENT_CAP,
                )
            )
            self.order_ids: list[uuid.UUID] = []

        @rule(
            buyer=st.sampled_from(BUYERS),
            a=st.integers(0, 4),
            b=st.integers(0, 4),
            method=st.sampled_from(METHODS),
        )
        def purchase(self, buyer: str, a: int, b: int, method: str | None) -> None:
            items = [(t, q) for t, q in zip(self.event.tier_ids, (a, b), strict=True) if q]
            request = ticketing_service.PurchaseRequest(
                event_id=self.event.id,
                customer_email=buyer,
                customer_name="Buyer",
                items=items,
                payment_method=method,
            )

            async def go() -> None:
                try:
                    async with runtime.unit_of_work() as uow:
                        result = await ticketing_service.purchase(
                            uow, self.gateway, app_settings, request
                        )
                    self.order_ids.append(result.order.id)
                except DomainError:
                    pass

            run(go())

        @rule(data=st.data(), succeed=st.booleans())
        def gateway_answers_a_payment_intent(self, data: st.DataObject, succeed: bool) -> None:
            pending = run(self._orders(OrderStatus.PENDING))
            if not pending:
                return
            order = data.draw(st.sampled_from(pending))
            if order.payment_reference is None:
                return
            method = "pm_card_visa" if succeed else "pm_card_chargeDeclined"

            async def go() -> None:
                charge = await self.gateway.confirm_charge(
                    order.payment_reference or "", payment_method=method, idempotency_key="c"
                )
                try:
                    async with runtime.unit_of_work() as uow:
                        await ticketing_service.settle(
                            uow,
                            self.gateway,
                            app_settings,
                            order.id,
                            ticketing_service.outcome_of(charge),
                        )
                except DomainError:
                    pass

            run(go())

        @rule(data=st.data())
        def payment_fails(self, data: st.DataObject) -> None:
            pending = run(self._orders(OrderStatus.PENDING))
            if not pending:
                return
            order = data.draw(st.sampled_from(pending))

            async def go() -> None:
                try:
                    async with runtime.unit_of_work() as uow:
                        await ticketing_service.settle(
                            uow,
                            self.gateway,
                            app_settings,
                            order.id,
                            PaymentOutcome("failed", reason="card_declined"),
                        )
                except DomainError:
                    pass

            run(go())

        @rule()
        def time_passes_and_pending_orders_expire(self) -> None:
            clock.advance(minutes=16)

            async def go() -> None:
                async with runtime.unit_of_work(readonly=True) as uow:
                    due = await ticketing_service.orders_due_for_expiry(uow)
                for order_id in due:
                    async with runtime.unit_of_work() as uow:
                        await ticketing_service.expire_order(uow, order_id)
                for order_id in self.order_ids:  # what the refund job does
                    try:
                        async with runtime.unit_of_work() as uow:
                            await ticketing_service.complete_refund(uow, self.gateway, order_id)
                    except DomainError:
                        pass

            run(go())

        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            if not self.order_ids:
                return
            order_id = data.draw(st.sampled_from(self.order_ids))

            async def go() -> None:
                try:
                    async with runtime.unit_of_work() as uow:
                        await ticketing_service.cancel_order(
                            uow, self.gateway, order_id, STAFF, reason_code=CancelReason.OTHER
                        )
                except DomainError:
                    pass

            run(go())

        async def _orders(self, status: OrderStatus | None = None) -> list[Order]:
            stmt = select(Order).where(Order.event_id == self.event.id).order_by(Order.id)
            if status is not None:
                stmt = stmt.where(Order.status == status.value)
            async with runtime.unit_of_work(readonly=True) as uow:
                return list(await uow.session.scalars(stmt))

        @invariant()
        def counters_are_the_sum_of_live_reservations_within_caps(self) -> None:
            async def check() -> None:
                taken = await counters(runtime, self.event.id)
                async with runtime.unit_of_work(readonly=True) as uow:
                    live = [
                        await ticketing_service.order_for_viewer(uow, o.id, STAFF)
                        for o in await self._orders()
                        if o.status in LIVE_STATUSES
                    ]
                per_tier = dict.fromkeys(self.event.tier_ids, 0)
                for order in live:
                    for line in order.lines:
                        per_tier[line.tier_id] += line.quantity
                assert taken.tiers == per_tier
                assert taken.event == sum(per_tier.values()) <= EVENT_CAP
                for tier_id, cap in zip(self.event.tier_ids, TIER_CAPS, strict=True):
                    assert taken.tiers[tier_id] <= cap

            run(check())

        @invariant()
        def every_paid_order_has_its_tickets_and_nothing_else_is_valid(self) -> None:
            async def check() -> None:
                async with runtime.unit_of_work(readonly=True) as uow:
                    for order in await self._orders():
                        tickets = list(
                            await uow.session.scalars(
                                select(Ticket).where(Ticket.order_id == order.id)
                            )
                        )
                        valid = [t for t in tickets if t.status == "valid"]
                        if order.status == OrderStatus.PAID:
                            assert len(valid) == len(tickets) == order.quantity
                        else:
                            assert valid == []

            run(check())

        @invariant()
        def money_is_kept_only_for_paid_orders(self) -> None:
            async def check() -> None:
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

            run(check())

    try:
        run_state_machine_as_test(
            OrderLifecycle,
            settings=settings(
                max_examples=12,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        run(runtime.close())
        loop.close()
