"""What a buyer asks for, what a purchase answers, and the checks of a request on its own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from admitone.events import service as events_service
from admitone.ticketing.errors import InvalidOrderQuantity
from admitone.ticketing.idempotency import fingerprint
from admitone.ticketing.models import Order

Item = tuple[uuid.UUID | None, int]  # (tier, quantity); no tier means the event's default tier


@dataclass(frozen=True, slots=True)
class ProductItem:
    """A shop product bought with the tickets, with a choice of its options."""

    product_id: uuid.UUID
    quantity: int
    options: Mapping[str, str] = field(default_factory=dict)
    # What names this line to the buyer in an error (``items.2`` of a cart).
    field: str = "items"


@dataclass(frozen=True, slots=True)
class CartClaim:
    """The cart a checkout sells, as it was read: it is closed in the transaction that places
    the order, and only if it has not changed since."""

    cart_id: uuid.UUID
    seen: datetime


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
    # Applied by the coupon step of the pipeline; carried as the buyer typed it.
    coupon_code: str | None = None
    products: Sequence[ProductItem] = ()
    cart: CartClaim | None = None
    # What names each of ``items`` to the buyer in an error, when not ``order.items.N`` (a
    # cart's ``items.N``).
    item_fields: Sequence[str] = ()
    # The invoice asked at checkout (``PurchaseInvoice.as_sold``), kept on the order as is.
    invoice: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    order: Order
    created: bool  # False: a replay of an earlier request with the same idempotency key
    access_token: str | None = None  # the guest's secret, shown once, on creation
    client_secret: str | None = None  # a payment intent the buyer still has to confirm


def request_digest(request: PurchaseRequest, wanted: list[Item]) -> str:
    """What a replay under the same idempotency key must repeat."""
    return fingerprint(
        event_id=request.event_id,
        items=wanted,
        customer_email=request.customer_email,
        customer_name=request.customer_name,
        payment_method=request.payment_method,
        products=[
            (str(item.product_id), item.quantity, dict(item.options)) for item in request.products
        ],
        cart_id=request.cart.cart_id if request.cart else None,
        coupon_code=request.coupon_code,
        invoice=request.invoice,
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


def resolve_lines(event: events_service.EventSnapshot, wanted: list[Item]) -> dict[uuid.UUID, int]:
    """The lines by tier, a purchase without a tier buying the event's default one."""
    lines: Counter[uuid.UUID] = Counter()
    for tier, quantity in wanted:
        lines[tier or events_service.default_tier_id(event)] += quantity
    return dict(lines)
