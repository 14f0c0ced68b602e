"""Step 1: reserve. A batch of purchase requests becomes ``pending`` orders holding their seats,
in the caller's transaction, with one INSERT per table and one conditional UPDATE per counter
for the whole batch (rule 5). A purchase alone is a batch of one.

Each request goes through ``CHECKS`` in turn; a refusal answers that request alone and the rest
of the batch goes on. Members-only tiers are one (``_members``, a single truth test for an
event none of whose tiers requires a plan), shop lines another (``_products``), coupons a third
(``_coupon``); waiting-list holds are a check to add there: each sees the request, the event as
this transaction read it and the lines so far.

The writes then take their locks in one fixed order: a coupon's use (its conditional counter
update), the event's counters, the shop's stock (products by id), and a checked-out cart is
closed, all in the same transaction: a refusal of any rolls back the rest. Purchases with a
coupon or from a cart are reserved alone (``batching`` hands them to ``flow``), so a batch never
holds a use for an order it leaves out; product lines ride in batches, a batch whose stock falls
short being placed again one purchase at a time, as when its seats were taken.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.actor import Actor, acting_as
from admitone.core.db import UnitOfWork
from admitone.core.errors import DomainError
from admitone.core.ids import sha256_hex, short_reference
from admitone.core.tax import TaxRate, line_tax
from admitone.events import service as events_service
from admitone.posts import service as posts_service
from admitone.shop import service as shop_service
from admitone.ticketing import expiry, repository
from admitone.ticketing.access import order_access_token
from admitone.ticketing.errors import InvalidOrderQuantity, MembershipRequired, ProductNotSoldHere
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.memberships import member_plans
from admitone.ticketing.models import Order, OrderLine, OrderStatus
from admitone.ticketing.purchase import settle
from admitone.ticketing.purchase.request import (
    Item,
    ProductItem,
    PurchaseRequest,
    check_quantities,
    request_digest,
    resolve_lines,
)
from admitone.ticketing.transitions import announce


@dataclass(frozen=True, slots=True)
class Reserving:
    request: PurchaseRequest
    gateway_name: str | None
    actor: Actor  # a batch runs in no request's context: each purchase names its own buyer


@dataclass(frozen=True, slots=True)
class Placed:
    """A new order, ``pending`` with its seats held, or already ``paid`` when it cost nothing."""

    order: Order
    access_token: str  # the guest's secret to it
    coupon: posts_service.Applied | None = None  # redeemed with the order's writes


class Collision(Exception):
    """An order already there refused one of the batch (a unique index: a replay of an
    idempotency key, or a buyer's second pending order): the transaction cannot stand."""


@dataclass
class Candidate:
    """A request on its way through the checks."""

    item: Reserving
    key: str  # the buyer, as the one-pending-order index knows them
    snapshot: events_service.EventSnapshot  # the event as this transaction read it
    wanted: list[Item] = field(default_factory=list)
    lines: dict[uuid.UUID, int] = field(default_factory=dict)
    products: list[tuple[ProductItem, shop_service.ProductSale]] = field(default_factory=list)
    coupon: posts_service.Applied | None = None


Check = Callable[[UnitOfWork, Settings, Candidate], Awaitable[None]]


async def _quantities(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    candidate.wanted = check_quantities(
        candidate.item.request.items, settings.max_tickets_per_order
    )


async def _tiers(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    candidate.lines = resolve_lines(candidate.snapshot, candidate.wanted)


async def _on_sale(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    candidate.snapshot = await events_service.check_purchasable(
        uow, candidate.snapshot.id, candidate.lines, snapshot=candidate.snapshot
    )


async def _members(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    """Each members-only tier bought needs the buyer signed in as a member of one of its
    plans, looked up in one query per such purchase. What was bought before stays bought when
    a membership lapses: only the purchase checks it."""
    event = candidate.snapshot
    if not event.members_only:
        return
    gated = [tier_id for tier_id in candidate.lines if tier_id in event.members_only]
    if not gated:
        return
    request = candidate.item.request
    required = {tier_id: _tier(event, tier_id).required_plan_ids for tier_id in gated}
    user_id = request.buyer_user_id
    held = (
        await member_plans(uow, user_id, {p for plans in required.values() for p in plans})
        if user_id is not None
        else frozenset()
    )
    for tier_id, plans in required.items():
        if held.isdisjoint(plans):
            raise MembershipRequired(
                field=_item_field(request, tier_id),
                details={"tier_id": str(tier_id), "plan_ids": [str(p) for p in plans]},
            )


def _item_field(request: PurchaseRequest, tier_id: uuid.UUID) -> str:
    """The item that bought ``tier_id``, as the buyer named it."""
    for index, (asked, _) in enumerate(request.items):
        if asked == tier_id:
            if index < len(request.item_fields):
                return request.item_fields[index]
            return f"order.items.{index}.tier_id"
    return "order"  # the event's default tier, bought by quantity alone


async def _products(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    """Shop products sold with the tickets, priced as sold now: each a live, public product of
    the event's organizer, in its currency, of this event or of none."""
    request, event = candidate.item.request, candidate.snapshot
    if not request.products:
        return
    for item in request.products:
        quantity = item.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidOrderQuantity(field=f"{item.field}.quantity")
        if not 1 <= quantity <= MAX_PRODUCT_QUANTITY:
            raise InvalidOrderQuantity(
                f"A product line holds 1 to {MAX_PRODUCT_QUANTITY} items.",
                field=f"{item.field}.quantity",
            )
    sales = await shop_service.price_products(
        uow, [(item.product_id, item.options, item.field) for item in request.products]
    )
    for item, sale in zip(request.products, sales, strict=True):
        if (
            sale.organizer_id != event.organizer_id
            or sale.currency != event.currency
            or sale.event_id not in (None, event.id)
        ):
            raise ProductNotSoldHere(
                field=f"{item.field}.product_id", details={"product_id": str(sale.product_id)}
            )
    candidate.products = list(zip(request.products, sales, strict=True))


MAX_PRODUCT_QUANTITY = 1000


async def _coupon(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> None:
    code = candidate.item.request.coupon_code
    if code is None:
        return
    event = candidate.snapshot
    candidate.coupon = await posts_service.check_coupon(
        uow,
        code,
        organizer_id=event.organizer_id,
        currency=event.currency,
        lines=[
            posts_service.Line("tier", tier_id, quantity, _price(event, tier_id))
            for tier_id, quantity in candidate.lines.items()
        ]
        + [
            posts_service.Line("product", sale.product_id, item.quantity, sale.unit_price)
            for item, sale in candidate.products
        ],
        now=uow.clock.now(),
        field="order.coupon_code",
    )


def _price(event: events_service.EventSnapshot, tier_id: uuid.UUID) -> int:
    return _tier(event, tier_id).price


def _tier(event: events_service.EventSnapshot, tier_id: uuid.UUID) -> events_service.TierSnapshot:
    tier = event.tier(tier_id)
    assert tier is not None  # the lines passed ``_on_sale``
    return tier


# In this order: a refusal is the first one met.
CHECKS: tuple[Check, ...] = (_quantities, _tiers, _on_sale, _members, _products, _coupon)


async def reserve_orders(
    uow: UnitOfWork, settings: Settings, items: Sequence[Reserving]
) -> list[Placed | DomainError | None]:
    """Reserve ``items`` in the caller's transaction: a ``Placed`` order each, the refusal of a
    request, or None for one left out of a batch of several (a buyer's second order in it, or
    an order that does not fit in what the batch read as left), to be reserved alone. Raises
    ``Collision`` when an order already there refuses one, and the counters' refusal
    (``SoldOut``) when the seats were taken since the event was read."""
    batch = _Batch(alone=len(items) == 1)
    answers: list[Placed | DomainError | None] = []
    for item in items:
        try:
            answers.append(await batch.add(uow, settings, item))
        except DomainError as refused:
            answers.append(refused)
    kept = batch.keep_what_fits(answers)
    if not kept:
        return answers
    placed = [(cast(Placed, answers[index]), items[index].actor) for index in kept]
    orders = [one.order for one, _ in placed]
    await repository.add_orders(uow, orders, collision=Collision)
    for one, _ in sorted(placed, key=lambda pair: pair[0].order.id):
        if one.coupon is not None:
            await posts_service.redeem_coupon(
                uow,
                one.coupon,
                order_id=one.order.id,
                buyer_key=one.order.buyer_key,
                field="order.coupon_code",
            )
    for one, actor in placed:
        with acting_as(actor):
            await announce(uow, one.order, "created")
    await expiry.schedule_expiry(uow, *(order for order in orders if order.total_amount > 0))
    # The counters last: the event's row is the hottest in an on-sale, and its lock is held from
    # this UPDATE to the commit, so nothing else of the orders may run in between.
    await uow.write_buffered()
    for event_id in sorted(batch.wanted):  # a fixed order across events too (rule 5)
        await events_service.reserve(
            uow, event_id, dict(batch.wanted[event_id]), snapshot=batch.snapshots[event_id]
        )
    # Then stock, products by id (the shop's fixed order), and the carts the orders sell.
    await _take_stock(uow, [(answers[index], items[index]) for index in kept])
    for index in kept:
        cart = items[index].request.cart
        if cart is not None:
            await shop_service.close_cart(uow, cart.cart_id, cart.seen)
    for order in orders:
        # Just written by this transaction: what is in the session is current.
        set_committed_value(order, "tickets", [])
    # What costs nothing is paid on the spot, through the same settlement as a charge.
    free = [
        settle.Paying(one.order, None, actor, access_token=one.access_token)
        for one, actor in placed
        if one.order.total_amount == 0
    ]
    if free:
        await settle.pay_orders(uow, settings, free)
    return answers


@dataclass
class _Batch:
    alone: bool
    snapshots: dict[uuid.UUID, events_service.EventSnapshot | None] = field(default_factory=dict)
    buyers: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    wanted: dict[uuid.UUID, Counter[uuid.UUID]] = field(default_factory=dict)  # what fits

    async def add(self, uow: UnitOfWork, settings: Settings, item: Reserving) -> Placed | None:
        request = item.request
        key = buyer_key(request.buyer_user_id, request.customer_email)
        if (request.event_id, key) in self.buyers:
            return None  # a buyer has one pending order per event: alone, it meets the first
        if request.event_id not in self.snapshots:
            self.snapshots[request.event_id] = await events_service.load_snapshot(
                uow, request.event_id
            )
        snapshot = self.snapshots[request.event_id]
        if snapshot is None:
            # Missing or deleted: refused as alone, its quantities first.
            check_quantities(request.items, settings.max_tickets_per_order)
            snapshot = await events_service.get_event_snapshot(uow, request.event_id)
        candidate = Candidate(item, key, snapshot)
        for check in CHECKS:
            await check(uow, settings, candidate)
        self.buyers.add((request.event_id, key))
        order, token = new_order(uow, settings, candidate)
        return Placed(order, token, candidate.coupon)

    def keep_what_fits(self, answers: list[Placed | DomainError | None]) -> list[int]:
        """The orders of the batch, but for those that do not fit in what is left (as last
        read) after the ones before them: each of those is left out (None), to take what is
        left then or be told it is sold out, while the batch still sells what it can. A
        purchase alone goes to the counters, which explain a refusal."""
        kept: list[int] = []
        wanted: defaultdict[uuid.UUID, Counter[uuid.UUID]] = defaultdict(Counter)
        for index, answer in enumerate(answers):
            if not isinstance(answer, Placed):
                continue
            order = answer.order
            more = wanted[order.event_id] + Counter(
                {line.tier_id: line.quantity for line in order.lines if line.tier_id is not None}
            )
            if not self.alone and not _fits(self.snapshots[order.event_id], more):
                answers[index] = None
                continue
            wanted[order.event_id] = more
            kept.append(index)
        self.wanted = {event_id: tickets for event_id, tickets in wanted.items() if tickets}
        return kept


def _fits(snapshot: events_service.EventSnapshot | None, wanted: Counter[uuid.UUID]) -> bool:
    if snapshot is None:
        return False
    total = sum(wanted.values())
    if snapshot.max_attendees is not None and snapshot.taken + total > snapshot.max_attendees:
        return False
    for tier_id, quantity in wanted.items():
        tier = snapshot.tier(tier_id)
        if tier is None or tier.taken + quantity > tier.capacity:
            return False
    return True


def new_order(uow: UnitOfWork, settings: Settings, candidate: Candidate) -> tuple[Order, str]:
    """A ``pending`` order for the candidate's lines, not yet added to any session, and the
    guest's access token to it."""
    request, event, lines = candidate.item.request, candidate.snapshot, candidate.lines
    now = uow.clock.now()
    order_id = uuid.uuid4()
    token = order_access_token(settings, order_id)
    tiers = {tier.id: tier for tier in event.tiers}
    discount = candidate.coupon.discount if candidate.coupon else 0
    # The coupon's shares, in the order ``_coupon`` gave the lines: tiers, then products.
    shares = list(candidate.coupon.line_discounts) if candidate.coupon else []
    shares += [0] * (len(lines) + len(candidate.products) - len(shares))
    tier_discounts = dict(zip(lines, shares, strict=False))
    product_discounts = shares[len(lines) :]
    order = Order(
        id=order_id,
        reference=_reference(),
        event_id=event.id,
        buyer_user_id=request.buyer_user_id,
        buyer_key=candidate.key,
        customer_email=request.customer_email.strip(),
        customer_name=request.customer_name.strip(),
        status=OrderStatus.PENDING.value,
        quantity=sum(lines.values()),
        total_amount=0,  # the lines' gross, below
        discount_amount=discount,
        coupon_id=candidate.coupon.coupon_id if candidate.coupon else None,
        currency=event.currency,
        access_token_hash=sha256_hex(token),
        expires_at=now + timedelta(minutes=settings.payment_timeout_minutes),
        idempotency_key=request.idempotency_key,
        request_fingerprint=(
            request_digest(request, candidate.wanted) if request.idempotency_key else None
        ),
        payment_gateway=candidate.item.gateway_name,
        refund_due=False,
        refunded_amount=0,
        invoice_details=dict(request.invoice) if request.invoice is not None else None,
        created_at=now,
        updated_at=now,
    )
    order.lines = [
        OrderLine(
            tier_id=tier_id,
            position=position,
            quantity=quantity,
            unit_price=tiers[tier_id].price,
            tier_name=tiers[tier_id].name,
            discount_amount=tier_discounts.get(tier_id, 0),
        )
        for position, (tier_id, quantity) in enumerate(
            sorted(lines.items(), key=lambda item: tiers[item[0]].position)
        )
    ]
    # Product lines after the tickets, in the order asked (``_take_stock`` pairs them so).
    order.lines += [
        OrderLine(
            product_id=sale.product_id,
            position=len(lines) + position,
            quantity=item.quantity,
            unit_price=sale.unit_price,
            product_name=sale.name,
            category_name=sale.category_name,
            options=sale.options,
            discount_amount=product_discounts[position],
        )
        for position, (item, sale) in enumerate(candidate.products)
    ]
    rates = [event.tax_of(tiers[line.tier_id]) for line in order.lines if line.tier_id]
    rates += [
        sale.tax if sale.tax is not None else event.default_tax for _, sale in candidate.products
    ]
    _tax(order, rates)
    return order, token


def _tax(order: Order, rates: list[TaxRate | None]) -> None:
    """Each line's tax as sold, from its rate (``core.tax``: per line, half-up), and the order's
    totals: the buyer pays the lines' gross, exclusive tax included. A coupon's share comes off
    a line before its tax (a discount lowers what is taxed). A discount never makes a total
    negative (``check_coupon`` caps each share at its line)."""
    for line, rate in zip(order.lines, rates, strict=True):
        amounts = line_tax(line.unit_price * line.quantity - line.discount_amount, rate)
        line.tax_name = rate.name if rate else None
        line.tax_rate_bp = rate.rate_bp if rate else 0
        line.tax_inclusive = rate.inclusive if rate else True
        line.net, line.tax, line.gross = amounts.net, amounts.tax, amounts.gross
    order.net_total = sum(line.net for line in order.lines)
    order.tax_total = sum(line.tax for line in order.lines)
    order.total_amount = sum(line.gross for line in order.lines)


# The shop's own naming of a refused line, replaced by the buyer's.
_INTERNAL = frozenset({"line", "field"})


async def _take_stock(
    uow: UnitOfWork, placed: Sequence[tuple[Placed | DomainError | None, Reserving]]
) -> None:
    """Take the stock of the orders' product lines, in one call (the shop takes its counters by
    product id). A line short of stock refuses its whole order, naming the line as the buyer
    gave it, and the transaction with it: nothing of it stays taken."""
    stock: list[shop_service.StockLine] = []
    fields: list[str] = []
    for answer, item in placed:
        assert isinstance(answer, Placed)
        order = answer.order
        products = [line for line in order.lines if line.product_id is not None]
        for line, asked in zip(products, item.request.products, strict=True):
            assert line.product_id is not None
            stock.append(
                shop_service.StockLine(line.product_id, line.quantity, line.options or {}, order.id)
            )
            fields.append(asked.field)
    if not stock:
        return
    refusals = await shop_service.take_stock(uow, stock)
    for refusal, at in zip(refusals, fields, strict=True):
        if refusal is not None:
            details = {key: value for key, value in refusal.details.items() if key not in _INTERNAL}
            raise shop_service.InsufficientStock(
                f"Not enough stock left for {at}.", field=at, details=details
            )


def _reference() -> str:
    # Read aloud over the phone and typed by people, and the activity log's reference kind
    # wants a letter and a digit in it.
    while True:
        reference = short_reference(8)
        if any(c.isdigit() for c in reference) and any(c.isalpha() for c in reference):
            return reference
