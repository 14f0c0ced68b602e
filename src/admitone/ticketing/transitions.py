"""What a status change of an order owes the rest of the system: capacity back, the activity
entry and message, the payment intent's cancel. The change itself is one conditional UPDATE
(``repository.transition``), and only the caller that wins it does any of this."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from admitone.activity import service as activity_service
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.posts import service as posts_service
from admitone.shop import service as shop_service
from admitone.ticketing import topics
from admitone.ticketing.models import Order

CANCEL_PAYMENT_JOB = "ticketing.cancel_payment"

# A domain above ticketing that must react to an order's change in the same transaction (billing
# issues a credit note when an invoiced order is cancelled) registers here at import time
# (``admitone.wiring``): ticketing cannot import it, that would be a cycle.
OrderHook = Callable[[UnitOfWork, Order, str], Awaitable[None]]
_order_hooks: list[OrderHook] = []


def register_order_hook(hook: OrderHook) -> None:
    """``hook(uow, order, change)`` runs after every announced change (``paid``,
    ``cancelled``, ``refunded``, ...), in the transaction that made it; it may only flush."""
    if hook not in _order_hooks:
        _order_hooks.append(hook)


def reserved_lines(order: Order) -> Mapping[uuid.UUID, int]:
    counts: Counter[uuid.UUID] = Counter()
    for line in order.lines:
        if line.tier_id is not None:
            counts[line.tier_id] += line.quantity
    return dict(counts)


def stock_lines(order: Order) -> list[shop_service.StockLine]:
    """The stock the order's product lines took, as the shop gives it back."""
    return [
        shop_service.StockLine(line.product_id, line.quantity, line.options or {}, order.id)
        for line in order.lines
        if line.product_id is not None
    ]


async def release_capacity(uow: UnitOfWork, order: Order, *, refund: bool = False) -> None:
    """Everything a live order holds goes back: its coupon use, its seats and its products'
    stock (each move an adjustment row naming the order; ``refund`` says why, for the stock
    history), in the order a purchase takes them, so a release and a purchase never wait for
    each other's locks in a cycle. The one place that does it, so expiry, failure, cancellation
    and refunds all give back alike: a refunded order gives its coupon use back too, a coupon's
    uses being the live orders holding it, as seats are (the ledger reverses the discounted
    revenue with the refund)."""
    if order.coupon_id is not None:
        await posts_service.release_coupon(uow, order.id)
    seats = reserved_lines(order)
    if seats:
        await events_service.release(uow, order.event_id, seats)
    stock = stock_lines(order)
    if stock:
        reason = shop_service.StockReason.REFUND if refund else shop_service.StockReason.RELEASE
        await shop_service.release_stock(uow, stock, reason)


async def announce(uow: UnitOfWork, order: Order, change: str, **extra: str | int | bool) -> None:
    """Record ``ticketing.order_<change>`` (PII-free metadata) and publish the order."""
    await activity_service.record(
        uow,
        f"ticketing.order_{change}",
        resource_type="order",
        resource_uuid=order.id,
        metadata={
            "order_uuid": order.id,
            "event_uuid": order.event_id,
            "status": order.status,
            "amount": order.total_amount,
            "currency": order.currency,
            "quantity": order.quantity,
            "reference": order.reference,
            **extra,
        },
    )
    topics.publish_order(uow, order, change)
    for hook in _order_hooks:
        await hook(uow, order, change)


async def cancel_payment_later(uow: UnitOfWork, order: Order) -> None:
    """An order that left ``pending`` unpaid keeps a payment intent the buyer may still confirm
    (a declined card takes another try): a job cancels it at the gateway, outside any
    transaction (rule 4), enqueued with the change so that both commit or vanish together."""
    if order.payment_reference is None or order.total_amount == 0:
        return
    await jobs_service.enqueue(
        uow,
        CANCEL_PAYMENT_JOB,
        {"order_id": str(order.id)},
        unique_key=f"{CANCEL_PAYMENT_JOB}:{order.id}",
    )
