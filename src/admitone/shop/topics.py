"""Pub/sub topics of the shop and the messages sent on them.

``shop:products`` and ``shop:categories`` are public: only products anyone may see (available,
of no event or of a published one) are announced there, and a product that stops being public
is announced one last time so lists drop it. ``shop:products:{id}`` follows the product's own
visibility (its organizer and staff see a draft), and ``shop:inventory`` is for staff.
Payloads carry ids, prices and counts: nothing personal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.money import Money
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import Policy, public, staff, topic
from admitone.shop import repository
from admitone.shop.models import Category, Product


def _product_reader() -> Policy:
    async def check(uow: UnitOfWork, actor: Actor, params: Mapping[str, uuid.UUID]) -> bool:
        stmt = repository.visible_products(actor).where(Product.id == params["id"])
        return await uow.session.scalar(stmt.with_only_columns(Product.id)) is not None

    return Policy("product-reader", check, frozenset({"id"}))


PRODUCTS = topic("shop:products", public(), "Public products as they are created and changed.")
PRODUCT = topic(
    "shop:products:{id}",
    _product_reader(),
    "One product as it changes (anyone while it is public; its organizer and staff always).",
)
CATEGORIES = topic("shop:categories", public(), "Shop categories as they change.")
INVENTORY = topic("shop:inventory", staff(), "Every stock movement (staff).")

PRODUCT_CREATED = "product_created"
PRODUCT_UPDATED = "product_updated"
PRODUCT_DELETED = "product_deleted"
PRODUCTS_BULK_STATUS_CHANGED = "products_bulk_status_changed"
CATEGORY_CREATED = "category_created"
CATEGORY_UPDATED = "category_updated"
CATEGORY_DELETED = "category_deleted"
INVENTORY_UPDATED = "inventory_updated"


def product_message(product: Product) -> dict[str, object]:
    return {
        "product_id": product.id,
        "organizer_id": product.organizer_id,
        "event_id": product.event_id,
        "category_id": product.category_id,
        "price": Money(product.price, product.currency).to_decimal_string(),
        "currency": product.currency,
        "is_available": product.is_available,
    }


def publish_product(uow: UnitOfWork, product: Product, kind: str, *, public_list: bool) -> None:
    """``kind`` on the product's own topic, and on the public list when ``public_list`` (the
    product is public now, or was before this change)."""
    payload = {"product_id": product.id} if kind == PRODUCT_DELETED else product_message(product)
    realtime_service.publish(uow, PRODUCT.name(id=product.id), kind, payload)
    if public_list:
        realtime_service.publish(uow, PRODUCTS, kind, payload)


def publish_bulk_status(
    uow: UnitOfWork, product_ids: Sequence[uuid.UUID], is_available: bool, *, public_list: bool
) -> None:
    payload = {"product_ids": list(product_ids), "is_available": is_available}
    for product_id in product_ids:
        realtime_service.publish(
            uow, PRODUCT.name(id=product_id), PRODUCTS_BULK_STATUS_CHANGED, payload
        )
    if public_list:
        realtime_service.publish(uow, PRODUCTS, PRODUCTS_BULK_STATUS_CHANGED, payload)


def publish_category(uow: UnitOfWork, category: Category, kind: str) -> None:
    payload: dict[str, object] = {"category_id": category.id}
    if kind != CATEGORY_DELETED:
        payload.update(
            organizer_id=category.organizer_id,
            name=category.name,
            slug=category.slug,
            position=category.position,
            parent_id=category.parent_id,
        )
    realtime_service.publish(uow, CATEGORIES, kind, payload)


def publish_inventory(
    uow: UnitOfWork,
    product_id: uuid.UUID,
    *,
    choice: Mapping[str, str],
    change: int,
    quantity: int,
    reason: str,
) -> None:
    realtime_service.publish(
        uow,
        INVENTORY,
        INVENTORY_UPDATED,
        {
            "product_id": product_id,
            "options": dict(choice),
            "change": change,
            "quantity": quantity,
            "reason": reason,
        },
    )
