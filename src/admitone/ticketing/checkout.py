"""Purchase (seed 001's synchronous charge, seed 002's multi-tier order and payment intent).

Three short steps, never holding a lock across the network (rule 4):

1. reserve: one transaction checks the rules, writes a ``pending`` order that expires after the
   payment timeout, and takes capacity with the atomic counters last (rule 5), so that their
   row locks are held only until the commit;
2. charge: the gateway is called outside any transaction, with the order's idempotency key;
3. settle: one transaction marks the order ``paid`` (tickets, email) or compensates.

Races end on unique indexes, not on luck: two requests with one idempotency key both reach
the insert, one wins, and the other answers with the winner's order; two different purchases
of one buyer for one event meet the one-pending-order index.

Purchases arriving together take these steps in shared transactions (``group_purchase``); this
module is what each does alone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.core.errors import Conflict, DomainError
from admitone.core.ids import sha256_hex, short_reference
from admitone.events import service as events_service
from admitone.payments import customers as payment_customers
from admitone.payments.gateway import ChargeRequest, CustomerGateway, PaymentGateway
from admitone.ticketing import expiry, queries, settlement
from admitone.ticketing.access import order_access_token
from admitone.ticketing.errors import (
    IdempotencyKeyReused,
    InvalidOrderQuantity,
    PendingOrderExists,
)
from admitone.ticketing.idempotency import buyer_key, charge_key, fingerprint
from admitone.ticketing.models import Order, OrderLine, OrderStatus
from admitone.ticketing.transitions import announce

Item = tuple[uuid.UUID | None, int]  # (tier, quantity); no tier means the event's default tier


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    event_id: uuid.UUID
    customer_email: str
    customer_name: str
    items: Sequence[Item]
    idempotency_key: str | None = None
    payment_method: str | None = None
    buyer_user_id: uuid.UUID | None = None
    # The buyer confirms the payment in a browser (the web checkout): the order waits for it
    # instead of the fake gateway's stand-in card paying at once.
    buyer_confirms: bool = False


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    order: Order
    created: bool  # False: a replay of an earlier request with the same idempotency key
    access_token: str | None = None  # the guest's secret, shown once, on creation
    client_secret: str | None = None  # a payment intent the buyer still has to confirm


class _LostRace(Exception):
    pass


async def purchase(
    uow: UnitOfWork, gateway: PaymentGateway, settings: Settings, request: PurchaseRequest
) -> PurchaseResult:
    """Place, pay and settle an order. Unlike other use cases this one spans transactions
    (rule 4), so it commits the unit of work it is given between the steps."""
    placed = await place_order(uow, settings, request, gateway_name=gateway.name)
    order = placed.order
    if not placed.created or order.status != OrderStatus.PENDING:
        return placed  # a replay, or a free order settled on the spot
    await uow.commit()
    outcome = await charge_order(uow, gateway, request, order)
    settled = await settlement.settle(
        uow, gateway, settings, order.id, outcome, access_token=placed.access_token, placed=order
    )
    return PurchaseResult(settled, True, placed.access_token, outcome.client_secret)


async def charge_order(
    uow: UnitOfWork, gateway: PaymentGateway, request: PurchaseRequest, order: Order
) -> settlement.PaymentOutcome:
    """Step 2: the gateway, called with no transaction open, with the order's idempotency key."""
    # A signed-in buyer pays as their provider customer (created at the first purchase).
    customer_id = (
        await ensure_customer(
            uow,
            gateway,
            user_id=request.buyer_user_id,
            email=request.customer_email,
            name=request.customer_name,
        )
        if request.buyer_user_id is not None
        else None
    )
    return await settlement.charge(
        gateway,
        ChargeRequest(
            amount=order.total_amount,
            currency=order.currency,
            idempotency_key=charge_key(order.id),
            payment_method=request.payment_method,
            buyer_confirms=request.buyer_confirms,
            description=f"admitone order {order.reference}",
            metadata={"order_id": str(order.id), "reference": order.reference},
            customer_id=customer_id,
        ),
    )


async def ensure_customer(
    uow: UnitOfWork, gateway: PaymentGateway, *, user_id: uuid.UUID, email: str, name: str
) -> str | None:
    """The buyer's customer id at ``gateway`` (created at their first purchase), or None when
    the gateway keeps no customers or could not create one."""
    if not isinstance(gateway, CustomerGateway):
        return None
    known = await payment_customers.known_customer(uow, gateway, user_id)
    await uow.commit()
    if known is not None:
        return known
    created = await payment_customers.create_customer(
        gateway, user_id=user_id, email=email, name=name
    )
    if created is None:
        return None
    try:
        kept = await payment_customers.keep_customer(uow, gateway, user_id, created)
        await uow.commit()
    except IntegrityError:
        # The account went away meanwhile: charge without keeping the link.
        await uow.rollback()
        return created
    return kept


async def place_order(
    uow: UnitOfWork,
    settings: Settings,
    request: PurchaseRequest,
    *,
    gateway_name: str | None = None,
) -> PurchaseResult:
    """Step 1, in the caller's transaction: the order is ``pending`` with its capacity held
    (or ``paid`` at once when it costs nothing)."""
    wanted = check_quantities(request.items, settings.max_tickets_per_order)
    key = buyer_key(request.buyer_user_id, request.customer_email)
    digest = request_digest(request, wanted)
    # No look-ups first: a replay or a second pending order meets a unique index on insert,
    # and only the rare refusal pays for the reads below.
    refusal: DomainError | None = None
    try:
        return await _reserve(
            uow, settings, request, wanted=wanted, key=key, digest=digest, gateway_name=gateway_name
        )
    except _LostRace:
        await uow.rollback()
    except DomainError as exc:
        await uow.rollback()
        refusal = exc
    # A replay answers its order whatever happened since (another request won the index, the
    # event sold out or closed): the purchase it repeats went through.
    if request.idempotency_key:
        existing = await queries.find_by_idempotency_key(uow, key, request.idempotency_key)
        if existing is not None:
            return _replay(existing, digest)
    if refusal is not None:
        raise refusal
    pending = await queries.pending_order_for(uow, request.event_id, key)
    if pending is not None:
        raise _pending_exists(pending)
    # The order that held the index was settled or given up before the look-ups above.
    raise Conflict("The purchase collided with another one; please try again.")


def request_digest(request: PurchaseRequest, wanted: list[Item]) -> str:
    """What a replay under the same idempotency key must repeat."""
    return fingerprint(
        event_id=request.event_id,
        items=wanted,
        customer_email=request.customer_email,
        customer_name=request.customer_name,
        payment_method=request.payment_method,
    )


def check_quantities(items: Sequence[Item], maximum: int) -> list[Item]:
    if not items:
        raise InvalidOrderQuantity("At least one ticket is needed.", field="order.items")
    for index, (_, quantity) in enumerate(items):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidOrderQuantity(
                "Each quantity must be a whole number of at least 1.",
                field="order.quantity" if len(items) == 1 else f"order.items.{index}.quantity",
            )
    merged: Counter[uuid.UUID | None] = Counter()
    for tier, quantity in items:
        merged[tier] += quantity
    total = sum(merged.values())
    if total > maximum:
        raise InvalidOrderQuantity(
            f"An order holds at most {maximum} tickets.",
            field="order.quantity" if len(items) == 1 else "order.items",
            details={"max_tickets_per_order": maximum, "requested": total},
        )
    return list(merged.items())


async def _reserve(
    uow: UnitOfWork,
    settings: Settings,
    request: PurchaseRequest,
    *,
    wanted: list[Item],
    key: str,
    digest: str,
    gateway_name: str | None,
) -> PurchaseResult:
    lines, snapshot = await _resolve_tiers(uow, request.event_id, wanted)
    event = await events_service.check_purchasable(uow, request.event_id, lines, snapshot=snapshot)

    order, token = new_order(
        uow, settings, request, event, lines, key=key, digest=digest, gateway_name=gateway_name
    )
    uow.session.add(order)
    try:
        await uow.flush()
    except IntegrityError as exc:
        raise _LostRace() from exc
    await announce(uow, order, "created")
    if order.total_amount > 0:
        await expiry.schedule_expiry(uow, order)
    # The counters last: the event's row is the hottest in an on-sale, and its lock is held from
    # this UPDATE to the commit, so nothing else of the order may run in between.
    await uow.write_buffered()
    await events_service.reserve(uow, request.event_id, lines, snapshot=event)
    if order.total_amount == 0:
        paid = await settlement.mark_paid(
            uow, settings, order.id, charge_id=None, access_token=token
        )
        assert paid is not None
        return PurchaseResult(paid, True, token)
    # The order was just written by this transaction: what is in the session is current.
    set_committed_value(order, "tickets", [])
    return PurchaseResult(order, True, token)


def new_order(
    uow: UnitOfWork,
    settings: Settings,
    request: PurchaseRequest,
    event: events_service.EventSnapshot,
    lines: Mapping[uuid.UUID, int],
    *,
    key: str,
    digest: str,
    gateway_name: str | None,
) -> tuple[Order, str]:
    """A ``pending`` order for ``lines`` of a purchasable event, not yet added to any session,
    and the guest's access token to it."""
    now = uow.clock.now()
    order_id = uuid.uuid4()
    token = order_access_token(settings, order_id)
    tiers = {tier.id: tier for tier in event.tiers}
    order = Order(
        id=order_id,
        reference=_reference(),
        event_id=event.id,
        buyer_user_id=request.buyer_user_id,
        buyer_key=key,
        customer_email=request.customer_email.strip(),
        customer_name=request.customer_name.strip(),
        status=OrderStatus.PENDING.value,
        quantity=sum(lines.values()),
        total_amount=sum(tiers[t].price * q for t, q in lines.items()),
        currency=event.currency,
        access_token_hash=sha256_hex(token),
        expires_at=now + timedelta(minutes=settings.payment_timeout_minutes),
        idempotency_key=request.idempotency_key,
        request_fingerprint=digest if request.idempotency_key else None,
        payment_gateway=gateway_name,
        refund_due=False,
        refunded_amount=0,
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
        )
        for position, (tier_id, quantity) in enumerate(
            sorted(lines.items(), key=lambda item: tiers[item[0]].position)
        )
    ]
    return order, token


async def _resolve_tiers(
    uow: UnitOfWork, event_id: uuid.UUID, wanted: list[Item]
) -> tuple[Mapping[uuid.UUID, int], events_service.EventSnapshot | None]:
    """The lines by tier, and the event when it had to be read for its default tier (the
    rest of the reservation reuses it rather than reading it again)."""
    if all(tier is not None for tier, _ in wanted):
        return {tier: quantity for tier, quantity in wanted if tier is not None}, None
    event = await events_service.get_event_snapshot(uow, event_id)
    return resolve_lines(event, wanted), event


def resolve_lines(event: events_service.EventSnapshot, wanted: list[Item]) -> dict[uuid.UUID, int]:
    """The lines by tier, a purchase without a tier buying the event's default one."""
    lines: Counter[uuid.UUID] = Counter()
    for tier, quantity in wanted:
        lines[tier or events_service.default_tier_id(event)] += quantity
    return dict(lines)


def _replay(order: Order, digest: str) -> PurchaseResult:
    if order.request_fingerprint != digest:
        raise IdempotencyKeyReused(
            field="order.idempotency_key", details={"reference": order.reference}
        )
    return PurchaseResult(order, created=False)


def _pending_exists(order: Order) -> PendingOrderExists:
    return PendingOrderExists(
        f"You already have order {order.reference} for this event waiting for payment; "
        "pay or cancel it first.",
        details={"order_id": str(order.id), "reference": order.reference},
    )


def _reference() -> str:
    # Read aloud over the phone and typed by people, and the activity log's reference kind
    # wants a letter and a digit in it.
    while True:
        reference = short_reference(8)
        if any(c.isdigit() for c in reference) and any(c.isalpha() for c in reference):
            return reference
