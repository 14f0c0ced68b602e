"""What the purchase pipeline needs of the shop to sell a cart: the cart's lines as it reads them,
each product priced as sold, and the cart closed in the transaction that places its order.

The pipeline (``ticketing.purchase``) owns the order; the shop only answers questions about its
own rows and moves them by one conditional statement each.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from admitone.activity import service as activity_service
from admitone.core.db import UnitOfWork
from admitone.core.tax import TaxRate
from admitone.shop import options, repository
from admitone.shop.carts import CartViewer
from admitone.shop.errors import CartChanged, CartNotOpen, ProductNotFound
from admitone.shop.models import Cart, CartStatus, Category, Product


@dataclass(frozen=True, slots=True)
class CheckoutLine:
    """One cart line, at its position in the cart (what ``items.N`` names)."""

    index: int
    tier_id: uuid.UUID | None
    product_id: uuid.UUID | None
    quantity: int
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckoutCart:
    id: uuid.UUID
    status: str
    organizer_id: uuid.UUID | None
    currency: str | None
    # The version of the cart this checkout sells: any change to its lines moves it, and the
    # order is placed only if it has not moved (``close_cart``).
    updated_at: datetime
    lines: list[CheckoutLine]


@dataclass(frozen=True, slots=True)
class ProductSale:
    """A product as it is sold now: what an order line copies."""

    product_id: uuid.UUID
    organizer_id: uuid.UUID
    event_id: uuid.UUID | None
    name: str
    category_name: str | None
    currency: str
    options: dict[str, str]
    unit_price: int  # the price with the chosen options' modifiers
    tax: TaxRate | None = None  # its own rate; the event's default applies without one


async def cart_for_checkout(
    uow: UnitOfWork, viewer: CartViewer, cart_id: uuid.UUID
) -> CheckoutCart:
    """The cart as the viewer may reach it (anyone else's is a 404), with its lines in the order
    the cart shows them."""
    cart = await repository.reachable_cart(uow, viewer.actor, viewer.token, cart_id)
    items = await repository.items_of(uow, cart.id)
    return CheckoutCart(
        id=cart.id,
        status=cart.status,
        organizer_id=cart.organizer_id,
        currency=cart.currency,
        updated_at=cart.updated_at,
        lines=[
            CheckoutLine(index, item.tier_id, item.product_id, item.quantity, dict(item.options))
            for index, item in enumerate(items)
        ],
    )


async def price_products(
    uow: UnitOfWork, wanted: Sequence[tuple[uuid.UUID, Mapping[str, str], str]]
) -> list[ProductSale]:
    """Each ``(product, options, field)`` as sold now, read in the caller's transaction: a
    product deleted, unavailable or not public is ``ProductNotFound`` and options it does not
    offer ``InvalidOptions``, naming ``field``."""
    products = await repository.products_by_id(uow, {product_id for product_id, _, _ in wanted})
    public = set(
        await uow.session.scalars(
            repository.live_products()
            .where(Product.id.in_(list(products)), repository.is_public())
            .with_only_columns(Product.id)
        )
    ) if products else set()  # fmt: skip
    categories = await _category_names(
        uow, {p.category_id for p in products.values() if p.category_id is not None}
    )
    sales: list[ProductSale] = []
    for product_id, choice, at in wanted:
        product = products.get(product_id)
        if product is None or product.id not in public:
            raise ProductNotFound(field=f"{at}.product_id")
        chosen = options.check_choice(product.options, choice, field=f"{at}.options")
        sales.append(
            ProductSale(
                product_id=product.id,
                organizer_id=product.organizer_id,
                event_id=product.event_id,
                name=product.name,
                category_name=(
                    categories.get(product.category_id) if product.category_id else None
                ),
                currency=product.currency,
                options=chosen,
                unit_price=product.price + options.price_modifier(product.options, chosen),
                tax=product.tax_rate,
            )
        )
    return sales


async def close_cart(uow: UnitOfWork, cart_id: uuid.UUID, seen: datetime) -> None:
    """The cart is checked out, in the transaction that places its order: one conditional
    UPDATE, won only while the cart is open and unchanged since ``seen``. Its lines stay, as the
    record of what was checked out (and so that a replay of the checkout reads the same
    request). ``CartNotOpen`` when another checkout won, ``CartChanged`` when a line changed."""
    closed = await uow.session.execute(
        update(Cart)
        .where(Cart.id == cart_id, Cart.status == CartStatus.OPEN.value, Cart.updated_at == seen)
        .values(status=CartStatus.CHECKED_OUT.value, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    if getattr(closed, "rowcount", 0) == 1:
        await activity_service.record(
            uow, "shop.cart_checked_out", resource_type="cart", resource_uuid=cart_id
        )
        return
    status = await uow.session.scalar(select(Cart.status).where(Cart.id == cart_id))
    if status != CartStatus.OPEN.value:
        raise CartNotOpen()
    raise CartChanged()


async def _category_names(uow: UnitOfWork, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await uow.session.execute(select(Category.id, Category.name).where(Category.id.in_(ids)))
    return {category_id: name for category_id, name in rows.all()}
