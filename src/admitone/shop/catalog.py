"""Categories and products: create, read, list, change, delete.

A product belongs to an organizer; with an event, to that event's organizer, whoever of its
managers (the organizer, staff) creates it. Prices are parsed exactly in the product's currency.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotFound
from admitone.core.ids import new_uuid
from admitone.core.money import Money, validate_currency
from admitone.core.pagination import Page, paginate
from admitone.events import service as events_service
from admitone.shop import inventory, options, repository, topics
from admitone.shop.errors import (
    CategorySlugTaken,
    CurrencyMismatch,
    InvalidCategoryParent,
    InvalidPrice,
    InvalidStock,
    UnknownCategory,
    UnknownEvent,
)
from admitone.shop.models import Category, Product, StockCounter, StockTracking
from admitone.shop.schemas import (
    CategoryCreate,
    CategoryUpdate,
    OptionIn,
    ProductCreate,
    ProductUpdate,
)

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class ProductView:
    product: Product
    stock: list[StockCounter]


# Categories


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100].strip("-") or "category"


async def create_category(uow: UnitOfWork, actor: Actor, data: CategoryCreate) -> Category:
    if actor.uuid is None:
        raise ValueError("a category needs a signed-in organizer")
    now = uow.clock.now()
    category = Category(
        id=new_uuid(),
        organizer_id=actor.uuid,
        name=data.name,
        slug=data.slug or slugify(data.name),
        position=data.position,
        parent_id=None,
        created_at=now,
        updated_at=now,
    )
    if data.parent_id is not None:
        await _check_parent(uow, category, data.parent_id)
        category.parent_id = data.parent_id
    await _save_category(uow, category)
    await _record_category(uow, "shop.category_created", category)
    topics.publish_category(uow, category, topics.CATEGORY_CREATED)
    return category


async def update_category(
    uow: UnitOfWork, actor: Actor, category_id: uuid.UUID, changes: CategoryUpdate
) -> Category:
    category = await repository.managed_category(uow, actor, category_id)
    sent = changes.model_fields_set
    if changes.name is not None:
        category.name = changes.name
    if changes.slug is not None:
        category.slug = changes.slug
    if changes.position is not None:
        category.position = changes.position
    if "parent_id" in sent:
        if changes.parent_id is not None:
            await _check_parent(uow, category, changes.parent_id)
        category.parent_id = changes.parent_id
    category.updated_at = uow.clock.now()
    await _save_category(uow, category)
    await _record_category(uow, "shop.category_updated", category)
    topics.publish_category(uow, category, topics.CATEGORY_UPDATED)
    return category


async def delete_category(uow: UnitOfWork, actor: Actor, category_id: uuid.UUID) -> None:
    """Its products and subcategories stay, without it (the foreign keys set NULL)."""
    category = await repository.managed_category(uow, actor, category_id)
    now = uow.clock.now()
    # Said explicitly rather than left to the database, so the session's rows agree.
    await uow.session.execute(
        update(Product)
        .where(Product.category_id == category.id)
        .values(category_id=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await uow.session.execute(
        update(Category)
        .where(Category.parent_id == category.id)
        .values(parent_id=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await uow.session.execute(delete(Category).where(Category.id == category.id))
    await _record_category(uow, "shop.category_deleted", category)
    topics.publish_category(uow, category, topics.CATEGORY_DELETED)


async def get_category(uow: UnitOfWork, category_id: uuid.UUID) -> Category:
    return await repository.category(uow, category_id)


async def list_categories(
    uow: UnitOfWork,
    *,
    organizer_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Category]:
    """Every organizer's categories are public, like their catalogue; oldest first."""
    stmt = select(Category)
    if organizer_id is not None:
        stmt = stmt.where(Category.organizer_id == organizer_id)
    return await paginate(
        uow.session,
        stmt,
        created_at=Category.created_at,
        row_id=Category.id,
        limit=limit,
        cursor=cursor,
        newest_first=False,
    )


async def _check_parent(uow: UnitOfWork, category: Category, parent_id: uuid.UUID) -> None:
    """The parent is another category of the same organizer, and not a descendant."""
    family = {c.id: c for c in await repository.categories_of(uow, category.organizer_id)}
    ancestor: uuid.UUID | None = parent_id
    seen: set[uuid.UUID] = set()
    while ancestor is not None:
        if ancestor == category.id or ancestor not in family or ancestor in seen:
            raise InvalidCategoryParent(field="parent_id")
        seen.add(ancestor)
        ancestor = family[ancestor].parent_id


async def _save_category(uow: UnitOfWork, category: Category) -> None:
    """Flush, answering a slug the organizer already uses, even by a racing request, with 409."""
    if await repository.slug_taken(uow, category.organizer_id, category.slug, but=category.id):
        raise CategorySlugTaken(field="slug")
    uow.session.add(category)
    try:
        async with uow.session.begin_nested():
            await uow.flush()
    except IntegrityError as exc:
        raise CategorySlugTaken(field="slug") from exc


async def _record_category(uow: UnitOfWork, action: str, category: Category) -> None:
    await activity_service.record(uow, action, resource_type="category", resource_uuid=category.id)


# Products


async def create_product(uow: UnitOfWork, actor: Actor, data: ProductCreate) -> ProductView:
    if actor.uuid is None:
        raise ValueError("a product needs a signed-in organizer")
    organizer_id, event_currency = actor.uuid, None
    if data.event_id is not None:
        organizer_id = await _event_organizer(uow, actor, data.event_id)
        event_currency = (await events_service.get_event_snapshot(uow, data.event_id)).currency
    currency = validate_currency(data.currency or event_currency or DEFAULT_CURRENCY)
    if event_currency is not None and currency != event_currency:
        raise CurrencyMismatch(
            "A product of an event is sold in the event's currency.",
            field="currency",
            details={"expected": event_currency},
        )
    if data.category_id is not None:
        await _check_category(uow, organizer_id, data.category_id)
    now = uow.clock.now()
    product = Product(
        id=new_uuid(),
        organizer_id=organizer_id,
        event_id=data.event_id,
        category_id=data.category_id,
        name=data.name,
        description=data.description,
        price=_price(data.price, currency, "price"),
        currency=currency,
        options=_options(data.options, currency),
        stock_tracking=data.stock_tracking.value,
        is_available=data.is_available,
        tax_name=data.tax_rate.name if data.tax_rate else None,
        tax_rate_bp=data.tax_rate.rate().rate_bp if data.tax_rate else None,
        tax_inclusive=data.tax_rate.inclusive if data.tax_rate else None,
        deleted_at=None,
        created_at=now,
        updated_at=now,
    )
    counts = _initial_counts(product, data)
    uow.session.add(product)
    await uow.flush()
    await inventory.set_initial_stock(uow, product, counts)
    await uow.flush()
    await _record_product(uow, "shop.product_created", product)
    public = await repository.product_is_public(uow, product.id)
    topics.publish_product(uow, product, topics.PRODUCT_CREATED, public_list=public)
    return await _view(uow, product)


async def update_product(
    uow: UnitOfWork, actor: Actor, product_id: uuid.UUID, changes: ProductUpdate
) -> ProductView:
    product = await repository.managed_product(uow, actor, product_id)
    was_public = await repository.product_is_public(uow, product.id)
    sent = changes.model_fields_set
    if changes.name is not None:
        product.name = changes.name
    if changes.description is not None:
        product.description = changes.description
    if changes.price is not None:
        product.price = _price(changes.price, product.currency, "price")
    if changes.options is not None:
        product.options = _options(changes.options, product.currency)
    if changes.is_available is not None:
        product.is_available = changes.is_available
    if "tax_rate" in sent:
        # Orders keep the tax they were sold with; only future sales see the new rate.
        product.tax_rate = changes.tax_rate.rate() if changes.tax_rate else None
    if "category_id" in sent:
        if changes.category_id is not None:
            await _check_category(uow, product.organizer_id, changes.category_id)
        product.category_id = changes.category_id
    product.updated_at = uow.clock.now()
    await uow.flush()
    await _record_product(uow, "shop.product_updated", product)
    public = was_public or await repository.product_is_public(uow, product.id)
    topics.publish_product(uow, product, topics.PRODUCT_UPDATED, public_list=public)
    return await _view(uow, product)


async def delete_product(uow: UnitOfWork, actor: Actor, product_id: uuid.UUID) -> None:
    """A soft delete: order lines keep pointing at it, and it is never sold again."""
    product = await repository.managed_product(uow, actor, product_id)
    was_public = await repository.product_is_public(uow, product.id)
    now = uow.clock.now()
    product.deleted_at = now
    product.is_available = False
    product.updated_at = now
    await uow.flush()
    await _record_product(uow, "shop.product_deleted", product)
    topics.publish_product(uow, product, topics.PRODUCT_DELETED, public_list=was_public)


async def set_products_available(
    uow: UnitOfWork, actor: Actor, product_ids: Sequence[uuid.UUID], is_available: bool
) -> list[uuid.UUID]:
    """Make many products (un)available in one statement; answers the ids changed. Products
    the actor does not manage are left alone, as if they did not exist."""
    if not product_ids:
        return []
    stmt = repository.live_products().where(Product.id.in_(product_ids))
    if not actor.is_staff:
        stmt = stmt.where(Product.organizer_id == actor.uuid)
    ids = sorted(await uow.session.scalars(stmt.with_only_columns(Product.id)))
    if not ids:
        return []
    public_before = await _public_among(uow, ids)
    await uow.session.execute(
        update(Product)
        .where(Product.id.in_(ids))
        .values(is_available=is_available, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    public_after = await _public_among(uow, ids)
    for product_id in ids:
        await activity_service.record(
            uow,
            "shop.product_status_changed",
            resource_type="product",
            resource_uuid=product_id,
            metadata={"new_status": "available" if is_available else "unavailable"},
        )
    topics.publish_bulk_status(uow, ids, is_available, public_list=public_before or public_after)
    return ids


async def get_product(uow: UnitOfWork, viewer: Actor, product_id: uuid.UUID) -> ProductView:
    return await _view(uow, await repository.visible_product(uow, viewer, product_id))


async def list_products(
    uow: UnitOfWork,
    viewer: Actor,
    *,
    event_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None,
    organizer_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[ProductView]:
    """The products the viewer may see, newest first."""
    stmt = repository.visible_products(viewer)
    if event_id is not None:
        stmt = stmt.where(Product.event_id == event_id)
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    if organizer_id is not None:
        stmt = stmt.where(Product.organizer_id == organizer_id)
    page = await paginate(
        uow.session,
        stmt,
        created_at=Product.created_at,
        row_id=Product.id,
        limit=limit,
        cursor=cursor,
    )
    products: list[Product] = page.items
    counters = await repository.counters_of(uow, [p.id for p in products])
    by_product: dict[uuid.UUID, list[StockCounter]] = {p.id: [] for p in products}
    for counter in counters:
        by_product[counter.product_id].append(counter)
    return Page([ProductView(p, by_product[p.id]) for p in products], page.next_cursor)


async def _view(uow: UnitOfWork, product: Product) -> ProductView:
    return ProductView(product, await repository.counters_of(uow, [product.id]))


async def _public_among(uow: UnitOfWork, ids: Sequence[uuid.UUID]) -> bool:
    stmt = repository.live_products().where(Product.id.in_(ids), repository.is_public())
    return await uow.session.scalar(stmt.with_only_columns(Product.id).limit(1)) is not None


async def _event_organizer(uow: UnitOfWork, actor: Actor, event_id: uuid.UUID) -> uuid.UUID:
    try:
        return await events_service.managed_event_organizer(uow, actor, event_id)
    except NotFound as exc:
        raise UnknownEvent(field="event_id") from exc


async def _check_category(uow: UnitOfWork, organizer_id: uuid.UUID, category_id: uuid.UUID) -> None:
    try:
        category = await repository.category(uow, category_id)
    except NotFound as exc:
        raise UnknownCategory(field="category_id") from exc
    if category.organizer_id != organizer_id:
        raise UnknownCategory(field="category_id")


def _price(value: str | int, currency: str, field: str) -> int:
    try:
        amount = Money.parse(value, currency, field=field).amount
    except InvalidInput as exc:
        raise InvalidPrice(exc.message, field=field) from exc
    if amount <= 0:
        raise InvalidPrice(field=field)
    return amount


def _options(offered: Sequence[OptionIn], currency: str) -> list[dict[str, Any]]:
    names = [option.name for option in offered]
    if len(set(names)) != len(names):
        raise InvalidInput("Each option has its own name.", field="options")
    stored: list[dict[str, Any]] = []
    for i, option in enumerate(offered):
        values = [v.value for v in option.values]
        if len(set(values)) != len(values):
            raise InvalidInput("Each value of an option is named once.", field=f"options.{i}")
        stored.append(
            {
                "name": option.name,
                "values": [
                    {
                        "value": v.value,
                        "price_modifier": _modifier(
                            v.price_modifier, currency, f"options.{i}.values.{j}.price_modifier"
                        ),
                    }
                    for j, v in enumerate(option.values)
                ],
            }
        )
    return stored


def _modifier(value: str | int, currency: str, field: str) -> int:
    try:
        return Money.parse(value, currency, field=field).amount
    except InvalidInput as exc:
        raise InvalidPrice(exc.message, field=field) from exc


def _initial_counts(product: Product, data: ProductCreate) -> list[tuple[dict[str, str], int]]:
    tracking = StockTracking(product.stock_tracking)
    if tracking != StockTracking.PRODUCT and data.stock is not None:
        raise InvalidStock("stock goes with stock_tracking product.", field="stock")
    if tracking != StockTracking.OPTIONS and data.stock_by_options is not None:
        raise InvalidStock(
            "stock_by_options goes with stock_tracking options.", field="stock_by_options"
        )
    if tracking == StockTracking.PRODUCT:
        return [({}, data.stock or 0)]
    if tracking == StockTracking.UNLIMITED:
        return []
    if not product.options:
        raise InvalidStock("Stock per option needs options.", field="stock_tracking")
    counts: dict[str, tuple[dict[str, str], int]] = {}
    for i, entry in enumerate(data.stock_by_options or []):
        choice = options.check_choice(
            product.options, entry.options, field=f"stock_by_options.{i}.options"
        )
        key = options.options_key(choice)
        if key in counts:
            raise InvalidStock(
                "Each combination is listed once.", field=f"stock_by_options.{i}.options"
            )
        counts[key] = (choice, entry.quantity)
    return list(counts.values())


async def _record_product(uow: UnitOfWork, action: str, product: Product) -> None:
    metadata: dict[str, object] = {
        "status": "available" if product.is_available else "unavailable",
        "currency": product.currency,
        "amount": product.price,
    }
    if product.event_id is not None:
        metadata["event_uuid"] = product.event_id
    await activity_service.record(
        uow, action, resource_type="product", resource_uuid=product.id, metadata=metadata
    )


# An event's deletion


async def delete_products_of_event(uow: UnitOfWork, event_id: uuid.UUID, now: datetime) -> None:
    """The products of a deleted event go with it: soft-deleted and unavailable, in the
    deletion's transaction (one UPDATE). Their ``product_deleted`` messages are the follow-up
    job's (``announce_products_of_deleted_event``)."""
    deleted = list(
        await uow.session.scalars(
            update(Product)
            .where(Product.event_id == event_id, Product.deleted_at.is_(None))
            .values(deleted_at=now, is_available=False, updated_at=now)
            .returning(Product.id)
            .execution_options(synchronize_session=False)
        )
    )
    for product_id in sorted(deleted):
        await activity_service.record(
            uow,
            "shop.product_deleted",
            resource_type="product",
            resource_uuid=product_id,
            metadata={"event_uuid": event_id, "reason": "event_deleted"},
        )


async def announce_products_of_deleted_event(uow: UnitOfWork, event_id: uuid.UUID) -> None:
    """``product_deleted`` for each deleted product of the event, on the public list and the
    product's own topic. Run by a retried job, so it may announce a product twice: a client
    dropping a product it no longer has does nothing."""
    products = await uow.session.scalars(
        select(Product)
        .where(Product.event_id == event_id, Product.deleted_at.is_not(None))
        .order_by(Product.id)
    )
    for product in products:
        topics.publish_product(uow, product, topics.PRODUCT_DELETED, public_list=True)
