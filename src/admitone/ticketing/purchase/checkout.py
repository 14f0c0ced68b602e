"""A cart checkout is a purchase: the cart's lines become one ``PurchaseRequest`` (tickets and
products) that runs the one pipeline, whose reserve step takes seats, then stock, and closes the
cart in the same short transaction. Nothing here reserves, pays or settles.

An order is for one event (its pending-order rule, its ledger accounts, its confirmation and its
tickets all key on it), so a cart is checked out with at least one ticket, all of one event;
products of that event, or of no event, ride along.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.shop import service as shop_service
from admitone.ticketing.errors import CartEmpty, CartMixedEvents, CartNeedsTickets
from admitone.ticketing.purchase.request import CartClaim, Item, ProductItem, PurchaseRequest


@dataclass(frozen=True, slots=True)
class Buyer:
    customer_email: str
    customer_name: str
    user_id: uuid.UUID | None
    payment_method: str | None = None
    coupon_code: str | None = None
    idempotency_key: str | None = None
    invoice: Mapping[str, object] | None = None


async def checkout_request(
    uow: UnitOfWork, actor: Actor, token: str | None, cart_id: uuid.UUID, buyer: Buyer
) -> PurchaseRequest:
    """The purchase a cart asks for, read in the caller's (short) transaction. A cart already
    checked out is refused here unless the request has an idempotency key: then it goes on, so
    that the pipeline answers the order that key made (a replay)."""
    cart = await shop_service.cart_for_checkout(uow, shop_service.CartViewer(actor, token), cart_id)
    if cart.status != "open" and buyer.idempotency_key is None:
        raise shop_service.CartNotOpen()
    if not cart.lines:
        raise CartEmpty(field="items")
    tickets = [line for line in cart.lines if line.tier_id is not None]
    if not tickets:
        raise CartNeedsTickets(field="items")
    listings = await events_service.tier_listings(
        uow, {line.tier_id for line in tickets if line.tier_id}
    )
    events: set[uuid.UUID] = set()
    items: list[Item] = []
    fields: list[str] = []
    for line in tickets:
        assert line.tier_id is not None
        listing = listings.get(line.tier_id)
        if listing is None:
            raise shop_service.TierNotFound(field=f"items.{line.index}.tier_id")
        events.add(listing.tier.event_id)
        items.append((line.tier_id, line.quantity))
        fields.append(f"items.{line.index}.tier_id")
    if len(events) > 1:
        raise CartMixedEvents(field="items")
    [event_id] = events
    products = [
        ProductItem(line.product_id, line.quantity, line.options, field=f"items.{line.index}")
        for line in cart.lines
        if line.product_id is not None
    ]
    return PurchaseRequest(
        event_id=event_id,
        customer_email=buyer.customer_email,
        customer_name=buyer.customer_name,
        items=items,
        idempotency_key=buyer.idempotency_key,
        payment_method=buyer.payment_method,
        buyer_user_id=buyer.user_id,
        coupon_code=buyer.coupon_code,
        products=products,
        cart=CartClaim(cart.id, cart.updated_at),
        item_fields=fields,
        invoice=buyer.invoice,
    )
