"""Queries of the shop, scoped by who asks (rule 8: someone else's product or cart is a 404)."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import ColumnElement, Select, false, select

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import sha256_hex
from admitone.events import service as events_service
from admitone.shop.errors import CartNotFound, CategoryNotFound, ProductNotFound
from admitone.shop.models import Cart, CartItem, Category, Product, StockCounter


def is_public() -> ColumnElement[bool]:
    """An available product of no event or of a published one: what anyone may see."""
    return Product.is_available.is_(True) & (
        Product.event_id.is_(None) | Product.event_id.in_(events_service.published_event_ids())
    )


def live_products() -> Select[Product]:
    return select(Product).where(Product.deleted_at.is_(None))


def visible_products(viewer: Actor) -> Select[Product]:
    """Staff see every live product, an organizer their own too, everyone the public ones."""
    stmt = live_products()
    if viewer.is_staff:
        return stmt
    if viewer.uuid is None:
        return stmt.where(is_public())
    return stmt.where(is_public() | (Product.organizer_id == viewer.uuid))


def _managed(stmt: Select[Product], actor: Actor) -> Select[Product]:
    if actor.is_staff:
        return stmt
    return stmt.where(Product.organizer_id == actor.uuid if actor.uuid else false())


async def visible_product(uow: UnitOfWork, viewer: Actor, product_id: uuid.UUID) -> Product:
    product = await uow.session.scalar(visible_products(viewer).where(Product.id == product_id))
    if product is None:
        raise ProductNotFound()
    return product


async def managed_product(uow: UnitOfWork, actor: Actor, product_id: uuid.UUID) -> Product:
    """A live product the actor may change: their own, or any for staff."""
    stmt = _managed(live_products().where(Product.id == product_id), actor)
    product = await uow.session.scalar(stmt.execution_options(populate_existing=True))
    if product is None:
        raise ProductNotFound()
    return product


async def product_is_public(uow: UnitOfWork, product_id: uuid.UUID) -> bool:
    found = await uow.session.scalar(
        select(Product.id).where(
            Product.id == product_id, Product.deleted_at.is_(None), is_public()
        )
    )
    return found is not None


async def products_by_id(
    uow: UnitOfWork, product_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Product]:
    if not product_ids:
        return {}
    rows = await uow.session.scalars(
        select(Product).where(Product.id.in_(product_ids)).execution_options(populate_existing=True)
    )
    return {product.id: product for product in rows}


async def counters_of(uow: UnitOfWork, product_ids: Collection[uuid.UUID]) -> list[StockCounter]:
    if not product_ids:
        return []
    rows = await uow.session.scalars(
        select(StockCounter)
        .where(StockCounter.product_id.in_(product_ids))
        .order_by(StockCounter.product_id, StockCounter.options_key)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def category(uow: UnitOfWork, category_id: uuid.UUID) -> Category:
    found = await uow.session.get(Category, category_id)
    if found is None:
        raise CategoryNotFound()
    return found


async def managed_category(uow: UnitOfWork, actor: Actor, category_id: uuid.UUID) -> Category:
    stmt = select(Category).where(Category.id == category_id)
    if not actor.is_staff:
        stmt = stmt.where(Category.organizer_id == actor.uuid if actor.uuid else false())
    found = await uow.session.scalar(stmt)
    if found is None:
        raise CategoryNotFound()
    return found


async def categories_of(uow: UnitOfWork, organizer_id: uuid.UUID) -> list[Category]:
    rows = await uow.session.scalars(select(Category).where(Category.organizer_id == organizer_id))
    return list(rows)


async def slug_taken(
    uow: UnitOfWork, organizer_id: uuid.UUID, slug: str, but: uuid.UUID | None = None
) -> bool:
    stmt = select(Category.id).where(Category.organizer_id == organizer_id, Category.slug == slug)
    if but is not None:
        stmt = stmt.where(Category.id != but)
    return await uow.session.scalar(stmt.limit(1)) is not None


def token_hash(token: str) -> str:
    return sha256_hex(token)


async def reachable_cart(
    uow: UnitOfWork, actor: Actor, token: str | None, cart_id: uuid.UUID, *, lock: bool = False
) -> Cart:
    """The cart of the signed-in actor, or the guest cart ``token`` opens; anything else 404."""
    mine = Cart.user_id == actor.uuid if actor.uuid is not None else false()
    by_token = Cart.token_hash == token_hash(token) if token else false()
    stmt = select(Cart).where(Cart.id == cart_id, mine | by_token)
    if lock:
        stmt = stmt.with_for_update()
    cart = await uow.session.scalar(stmt.execution_options(populate_existing=True))
    if cart is None:
        raise CartNotFound()
    return cart


async def items_of(uow: UnitOfWork, cart_id: uuid.UUID) -> list[CartItem]:
    rows = await uow.session.scalars(
        select(CartItem)
        .where(CartItem.cart_id == cart_id)
        .order_by(CartItem.created_at, CartItem.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)
