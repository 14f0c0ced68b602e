"""A stateful property test over carts and their orders: add and remove lines, check out (with a
coupon or not), pay or not, expire, cancel. After every step each stock counter holds its initial
stock less what the live orders' product lines hold, and no counter is negative; the coupon's
uses are the live orders holding it, never past its limit; carts checked out never sell twice.

The machine runs on one loop and one runtime for all its examples (tests/support/loop_machines.py),
with the same three buyers throughout."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter

from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job kinds must be registered to enqueue them
from admitone.accounts.models import Role, User
from admitone.core.actor import Actor, acting_as
from admitone.core.errors import DomainError
from admitone.payments.fake import FakeGateway
from admitone.posts import service as posts_service
from admitone.posts.models import Coupon
from admitone.posts.schemas import CouponCreate
from admitone.shop import service as shop_service
from admitone.shop.models import StockCounter
from admitone.shop.options import options_key
from admitone.shop.schemas import CartItemIn, ProductCreate
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.models import LIVE_STATUSES, CancelReason, Order
from tests.conftest import create_user
from tests.shop.conftest import COLOURS, SIZES, make_event
from tests.support.loop_machines import LoopMachine, Venue, on_loop, open_venue, run_machine

CHOICES = ({"size": "M", "colour": "red"}, {"size": "S", "colour": "blue"})
INITIAL = (4, 3)
METHODS = ("pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined", None)
STAFF = ticketing_service.Viewer(is_staff=True)
COUPON_LIMIT = 2


class CartLifecycle(LoopMachine):
    def __init__(self, venue: Venue, buyers: list[User]) -> None:
        super().__init__(venue)
        self.buyers = buyers
        self.gateway = FakeGateway()  # no default card: None leaves the order pending
        self.carts: dict[int, uuid.UUID] = {}  # each buyer's open cart
        self.order_ids: list[uuid.UUID] = []
        self.event_id, self.tier_ids = venue.run(make_event(self.runtime, venue.organizer))
        self.product_id = venue.run(self._product())
        # One organizer across the examples: each machine's code is its own.
        self.coupon_code = f"WALK{uuid.uuid4().hex[:8]}"
        self.coupon_id = venue.run(self._coupon())

    def _actor(self, buyer: int) -> Actor:
        user = self.buyers[buyer]
        return Actor(user.id, user.role)

    async def _product(self) -> uuid.UUID:
        data = ProductCreate.model_validate(
            {
                "name": "Tour shirt",
                "price": "25.00",
                "event_id": str(self.event_id),
                "options": [SIZES, COLOURS],
                "stock_tracking": "options",
                "stock_by_options": [
                    {"options": choice, "quantity": quantity}
                    for choice, quantity in zip(CHOICES, INITIAL, strict=True)
                ],
            }
        )
        organizer = Actor(self.venue.organizer.id, self.venue.organizer.role)
        with acting_as(organizer):
            async with self.runtime.unit_of_work() as uow:
                view = await shop_service.create_product(uow, organizer, data)
        return view.product.id

    async def _coupon(self) -> uuid.UUID:
        """10 % off, for two orders in all: racing its limit is part of the walk."""
        organizer = Actor(self.venue.organizer.id, self.venue.organizer.role)
        data = CouponCreate.model_validate(
            {
                "code": self.coupon_code,
                "kind": "percent",
                "percent_off": "10",
                "usage_limit": COUPON_LIMIT,
            }
        )
        with acting_as(organizer):
            async with self.runtime.unit_of_work() as uow:
                coupon = await posts_service.create_coupon(uow, organizer, data)
        return coupon.id

    async def _cart(self, buyer: int) -> uuid.UUID:
        """The buyer's open cart, a new one (with a ticket) after each checkout."""
        if buyer not in self.carts:
            actor = self._actor(buyer)
            with acting_as(actor):
                async with self.runtime.unit_of_work() as uow:
                    view = await shop_service.create_cart(uow, actor)
                    viewer = shop_service.CartViewer(actor)
                    ticket = CartItemIn(tier_id=self.tier_ids[0], quantity=1)
                    await shop_service.add_item(uow, viewer, view.cart.id, ticket)
            self.carts[buyer] = view.cart.id
        return self.carts[buyer]

    # -- rules ----------------------------------------------------------------------------------

    @rule(buyer=st.integers(0, 2), choice=st.integers(0, 1), quantity=st.integers(1, 3))
    @on_loop
    async def add(self, buyer: int, choice: int, quantity: int) -> None:
        cart_id = await self._cart(buyer)
        actor = self._actor(buyer)
        line = CartItemIn(product_id=self.product_id, quantity=quantity, options=CHOICES[choice])
        with acting_as(actor), contextlib.suppress(DomainError):
            async with self.runtime.unit_of_work() as uow:
                await shop_service.add_item(uow, shop_service.CartViewer(actor), cart_id, line)

    @rule(buyer=st.integers(0, 2), data=st.data())
    @on_loop
    async def remove(self, buyer: int, data: st.DataObject) -> None:
        cart_id = await self._cart(buyer)
        actor = self._actor(buyer)
        viewer = shop_service.CartViewer(actor)
        with acting_as(actor), contextlib.suppress(DomainError):
            async with self.runtime.unit_of_work() as uow:
                view = await shop_service.get_cart(uow, viewer, cart_id)
                products = [line for line in view.lines if line.item.product_id is not None]
                if products:
                    line = data.draw(st.sampled_from(products))
                    await shop_service.remove_item(uow, viewer, cart_id, line.item.id)

    @rule(buyer=st.integers(0, 2), method=st.sampled_from(METHODS), coupon=st.booleans())
    @on_loop
    async def checkout(self, buyer: int, method: str | None, coupon: bool) -> None:
        cart_id = await self._cart(buyer)
        actor = self._actor(buyer)
        user = self.buyers[buyer]
        with acting_as(actor):
            try:
                async with self.runtime.unit_of_work() as uow:
                    request = await ticketing_service.checkout_request(
                        uow,
                        actor,
                        None,
                        cart_id,
                        ticketing_service.Buyer(
                            user.email,
                            user.name,
                            user.id,
                            payment_method=method,
                            coupon_code=self.coupon_code.lower() if coupon else None,
                        ),
                    )
                result = await ticketing_service.purchase(
                    self.runtime.unit_of_work, self.gateway, self.runtime.settings, request
                )
            except DomainError as refused:
                if "order_id" in refused.details:  # declined: the order waits for another card
                    self.order_ids.append(uuid.UUID(refused.details["order_id"]))
                    del self.carts[buyer]
                return
        self.order_ids.append(result.order.id)
        del self.carts[buyer]  # checked out: the next lines go in a new cart

    @rule()
    @on_loop
    async def time_passes_and_pending_orders_expire(self) -> None:
        self.venue.clock.advance(minutes=16)
        async with self.runtime.unit_of_work(readonly=True) as uow:
            due = await ticketing_service.orders_due_for_expiry(uow)
        for order_id in due:
            async with self.runtime.unit_of_work() as uow:
                await ticketing_service.expire_order(uow, order_id)

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
    async def stock_is_the_initial_less_what_live_orders_hold(self) -> None:
        async with self.runtime.unit_of_work(readonly=True) as uow:
            orders = await uow.session.scalars(select(Order).where(Order.event_id == self.event_id))
            live = [
                await ticketing_service.order_for_viewer(uow, order.id, STAFF)
                for order in orders
                if order.status in LIVE_STATUSES
            ]
            counters = {
                key: quantity
                for key, quantity in (
                    await uow.session.execute(
                        select(StockCounter.options_key, StockCounter.quantity).where(
                            StockCounter.product_id == self.product_id
                        )
                    )
                ).all()
            }
        held: Counter[str] = Counter()
        for order in live:
            for line in order.lines:
                if line.product_id is not None:
                    held[options_key(line.options or {})] += line.quantity
        for choice, initial in zip(CHOICES, INITIAL, strict=True):
            key = options_key(choice)
            assert counters[key] == initial - held[key] >= 0, (choice, counters[key], held[key])

    @invariant()
    @on_loop
    async def the_coupons_uses_are_the_live_orders_holding_it(self) -> None:
        async with self.runtime.unit_of_work(readonly=True) as uow:
            uses = await uow.session.scalar(select(Coupon.uses).where(Coupon.id == self.coupon_id))
            holding = (
                await uow.session.scalars(
                    select(Order.status).where(Order.coupon_id == self.coupon_id)
                )
            ).all()
        live = sum(1 for status in holding if status in LIVE_STATUSES)
        assert uses == live <= COUPON_LIMIT, (uses, holding)


def test_carts_and_their_orders_keep_stock_equal_to_what_live_orders_hold(
    database_url: str,
) -> None:
    with open_venue(database_url) as venue:
        buyers = [venue.run(create_user(venue.runtime, Role.CUSTOMER)) for _ in range(3)]
        run_machine(lambda: CartLifecycle(venue, buyers), max_examples=10)
