"""Carts of signed-in users and guests, and their lines.

A line is one product with one normalised choice of options, or one ticket tier; adding it again
raises its quantity. The unique indexes on ``shop_cart_items`` say so in the database, and an add
is one ``INSERT ... ON CONFLICT DO UPDATE``, so two racing adds of the same line end as one line
holding both quantities. A cart holds one organizer's items in one currency: the first line
decides, and the cart forgets it with its last line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_secret, new_uuid
from admitone.core.money import Money
from admitone.events import service as events_service
from admitone.shop import options, repository
from admitone.shop.errors import (
    CartItemNotFound,
    CartNotOpen,
    CurrencyMismatch,
    ItemChoiceInvalid,
    LineQuantityTooLarge,
    MixedOrganizers,
    ProductNotFound,
    TierNotFound,
)
from admitone.shop.models import Cart, CartItem, CartStatus, Product
from admitone.shop.schemas import MAX_LINE_QUANTITY, CartItemIn

PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class CartViewer:
    """The signed-in actor, and for a guest the cart's token (``X-Cart-Token``)."""

    actor: Actor
    token: str | None = None


@dataclass(frozen=True, slots=True)
class LineView:
    item: CartItem
    name: str
    event_id: uuid.UUID | None
    unit_price: int
    available: bool


@dataclass(frozen=True, slots=True)
class CartView:
    cart: Cart
    lines: list[LineView]
    token: str | None = None

    @property
    def total(self) -> int:
        return sum(line.unit_price * line.item.quantity for line in self.lines if line.available)

    def money(self, amount: int) -> str:
        return Money(amount, self.cart.currency or "USD").to_decimal_string()


@dataclass(frozen=True, slots=True)
class _Offer:
    organizer_id: uuid.UUID
    currency: str


async def create_cart(uow: UnitOfWork, actor: Actor) -> CartView:
    """A signed-in user's cart, or a guest's with a new token (answered only now)."""
    now = uow.clock.now()
    token = None if actor.uuid is not None else new_secret()
    cart = Cart(
        id=new_uuid(),
        user_id=actor.uuid,
        token_hash=repository.token_hash(token) if token else None,
        status=CartStatus.OPEN.value,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(cart)
    await uow.flush()
    await activity_service.record(
        uow, "shop.cart_created", resource_type="cart", resource_uuid=cart.id
    )
    return CartView(cart, [], token)


async def get_cart(uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID) -> CartView:
    cart = await repository.reachable_cart(uow, viewer.actor, viewer.token, cart_id)
    return await _view(uow, cart)


async def add_item(
    uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID, data: CartItemIn
) -> CartView:
    cart = await _open_cart(uow, viewer, cart_id)
    if (data.tier_id is None) == (data.product_id is None):
        raise ItemChoiceInvalid(field="product_id")
    if data.product_id is not None:
        product = await _product_for_sale(uow, data.product_id)
        choice = options.check_choice(product.options, data.options)
        offer = _Offer(product.organizer_id, product.currency)
    else:
        assert data.tier_id is not None
        if data.options:
            raise ItemChoiceInvalid("A ticket takes no options.", field="options")
        choice = {}
        offer = await _tier_for_sale(uow, data.tier_id)
    _claim(cart, offer, "product_id" if data.product_id else "tier_id")
    await _upsert(uow, cart, data, choice)
    await activity_service.record(
        uow,
        "shop.cart_item_added",
        resource_type="cart",
        resource_uuid=cart.id,
        metadata=_line_metadata(data.product_id, data.tier_id, data.quantity),
    )
    return await _view(uow, cart)


async def update_item(
    uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID, item_id: uuid.UUID, quantity: int
) -> CartView:
    cart = await _open_cart(uow, viewer, cart_id)
    item = await _item(uow, cart, item_id)
    old = item.quantity
    item.quantity = quantity
    item.updated_at = cart.updated_at = uow.clock.now()
    await uow.flush()
    await activity_service.record(
        uow,
        "shop.cart_item_updated",
        resource_type="cart",
        resource_uuid=cart.id,
        metadata={
            **_line_metadata(item.product_id, item.tier_id, quantity),
            "old_quantity": old,
        },
    )
    return await _view(uow, cart)


async def remove_item(
    uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID, item_id: uuid.UUID
) -> CartView:
    cart = await _open_cart(uow, viewer, cart_id)
    item = await _item(uow, cart, item_id)
    await uow.session.execute(delete(CartItem).where(CartItem.id == item.id))
    remaining = await uow.session.scalar(
        select(func.count()).select_from(CartItem).where(CartItem.cart_id == cart.id)
    )
    if not remaining:
        cart.organizer_id = None
        cart.currency = None
    cart.updated_at = uow.clock.now()
    await uow.flush()
    await activity_service.record(
        uow,
        "shop.cart_item_removed",
        resource_type="cart",
        resource_uuid=cart.id,
        metadata=_line_metadata(item.product_id, item.tier_id, item.quantity),
    )
    return await _view(uow, cart)


async def _open_cart(uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID) -> Cart:
    # Locked: changes to one cart (its organizer and currency with its lines) go one at a time.
    cart = await repository.reachable_cart(uow, viewer.actor, viewer.token, cart_id, lock=True)
    if cart.status != CartStatus.OPEN:
        raise CartNotOpen()
    return cart


async def _item(uow: UnitOfWork, cart: Cart, item_id: uuid.UUID) -> CartItem:
    item = await uow.session.scalar(
        select(CartItem)
        .where(CartItem.id == item_id, CartItem.cart_id == cart.id)
        .execution_options(populate_existing=True)
    )
    if item is None:
        raise CartItemNotFound()
    return item


async def _product_for_sale(uow: UnitOfWork, product_id: uuid.UUID) -> Product:
    """A live product anyone may buy; a deleted, unavailable or unpublished one is a 404."""
    product = await uow.session.scalar(
        repository.live_products().where(Product.id == product_id, repository.is_public())
    )
    if product is None:
        raise ProductNotFound(field="product_id")
    return product


async def _tier_for_sale(uow: UnitOfWork, tier_id: uuid.UUID) -> _Offer:
    listing = (await events_service.tier_listings(uow, [tier_id])).get(tier_id)
    if listing is None or listing.event_status != PUBLISHED:
        raise TierNotFound(field="tier_id")
    return _Offer(listing.organizer_id, listing.tier.currency)


def _claim(cart: Cart, offer: _Offer, field: str) -> None:
    if cart.organizer_id is None:
        cart.organizer_id, cart.currency = offer.organizer_id, offer.currency
        return
    if cart.organizer_id != offer.organizer_id:
        raise MixedOrganizers(field=field)
    if cart.currency != offer.currency:
        raise CurrencyMismatch(
            "A cart is paid in one currency.", field=field, details={"expected": cart.currency}
        )


async def _upsert(uow: UnitOfWork, cart: Cart, data: CartItemIn, choice: dict[str, str]) -> None:
    """Insert the line, or add to the one already there; refused, changing nothing, when that
    would pass the most a line may hold."""
    now = uow.clock.now()
    cart.updated_at = now
    await uow.flush()
    dialect = uow.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CartItem).values(
        id=new_uuid(),
        cart_id=cart.id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        options=choice,
        options_key=options.options_key(choice),
        quantity=data.quantity,
        created_at=now,
        updated_at=now,
    )
    if data.product_id is not None:
        target = [CartItem.cart_id, CartItem.product_id, CartItem.options_key]
        predicate = text("product_id IS NOT NULL")
    else:
        target = [CartItem.cart_id, CartItem.tier_id]
        predicate = text("tier_id IS NOT NULL")
    summed = CartItem.quantity + stmt.excluded.quantity
    stmt = stmt.on_conflict_do_update(
        index_elements=target,
        index_where=predicate,
        set_={"quantity": summed, "updated_at": now},
        where=summed <= MAX_LINE_QUANTITY,
    )
    item_id: uuid.UUID | None = await uow.session.scalar(
        stmt.returning(CartItem.id).execution_options(synchronize_session=False)
    )
    if item_id is None:
        raise LineQuantityTooLarge(field="quantity", details={"max_quantity": MAX_LINE_QUANTITY})


async def _view(uow: UnitOfWork, cart: Cart) -> CartView:
    items = await repository.items_of(uow, cart.id)
    products = await repository.products_by_id(
        uow, {i.product_id for i in items if i.product_id is not None}
    )
    tiers = await events_service.tier_listings(
        uow, {i.tier_id for i in items if i.tier_id is not None}
    )
    public = await _public_products(uow, list(products))
    lines: list[LineView] = []
    for item in items:
        if item.product_id is not None:
            product = products[item.product_id]
            lines.append(
                LineView(
                    item,
                    product.name,
                    product.event_id,
                    product.price + options.price_modifier(product.options, item.options),
                    product.id in public,
                )
            )
        else:
            assert item.tier_id is not None
            listing = tiers.get(item.tier_id)
            if listing is None:
                continue  # its event is gone
            lines.append(
                LineView(
                    item,
                    listing.tier.name,
                    listing.tier.event_id,
                    listing.tier.price,
                    listing.event_status == PUBLISHED,
                )
            )
    return CartView(cart, lines)


async def _public_products(uow: UnitOfWork, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = await uow.session.scalars(
        repository.live_products()
        .where(Product.id.in_(ids), repository.is_public())
        .with_only_columns(Product.id)
    )
    return set(rows)


def _line_metadata(
    product_id: uuid.UUID | None, tier_id: uuid.UUID | None, quantity: int
) -> dict[str, object]:
    about: dict[str, object] = {"quantity": quantity}
    if product_id is not None:
        about["product_uuid"] = product_id
    if tier_id is not None:
        about["tier_uuid"] = tier_id
    return about
