"""The shop API: thin handlers over ``admitone.shop.service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, status

from admitone.accounts.models import Role, User
from admitone.core.actor import current_actor
from admitone.core.money import Money
from admitone.core.tax_schemas import TaxRateOut
from admitone.http.deps import CurrentUser, Uow, public, require_roles
from admitone.http.params import URL_SAFE_PATTERN, Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.shop import service
from admitone.shop.models import Category, StockTracking
from admitone.shop.options import NO_OPTIONS_KEY
from admitone.shop.schemas import (
    CartItemIn,
    CartItemOut,
    CartItemUpdate,
    CartOut,
    CategoryCreate,
    CategoryOut,
    CategoryPage,
    CategoryUpdate,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    StockAdjustmentIn,
    StockEntryOut,
    StockOut,
)

router = api_router(tags=["shop"])

ShopManager = Annotated[User, Depends(require_roles(Role.ORGANIZER, Role.OWNER, Role.ADMIN))]
CartToken = Annotated[
    str | None,
    Header(
        alias="X-Cart-Token",
        pattern=URL_SAFE_PATTERN,
        description="A guest's cart token, from the answer that made the cart.",
    ),
]


def _category_out(category: Category) -> CategoryOut:
    return CategoryOut.model_validate(category, from_attributes=True)


def _product_out(view: service.ProductView) -> ProductOut:
    product = view.product
    tracking = StockTracking(product.stock_tracking)
    product_wide = next((c for c in view.stock if c.options_key == NO_OPTIONS_KEY), None)
    return ProductOut(
        id=product.id,
        organizer_id=product.organizer_id,
        event_id=product.event_id,
        category_id=product.category_id,
        name=product.name,
        description=product.description,
        price=Money(product.price, product.currency).to_decimal_string(),
        currency=product.currency,
        options=ProductOut.options_out(product.options, product.currency),
        stock_tracking=tracking,
        stock=(
            (product_wide.quantity if product_wide else 0)
            if tracking == StockTracking.PRODUCT
            else None
        ),
        stock_by_options=[
            StockEntryOut(options=c.options, quantity=c.quantity)
            for c in view.stock
            if tracking == StockTracking.OPTIONS and c.options_key != NO_OPTIONS_KEY
        ],
        is_available=product.is_available,
        tax_rate=TaxRateOut.of(product.tax_rate),
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def _cart_out(view: service.CartView) -> CartOut:
    cart = view.cart
    return CartOut(
        id=cart.id,
        status=cart.status,
        organizer_id=cart.organizer_id,
        currency=cart.currency,
        items=[
            CartItemOut(
                id=line.item.id,
                kind="product" if line.item.product_id else "tier",
                tier_id=line.item.tier_id,
                product_id=line.item.product_id,
                event_id=line.event_id,
                name=line.name,
                options=line.item.options,
                quantity=line.item.quantity,
                unit_price=view.money(line.unit_price),
                line_total=view.money(line.unit_price * line.item.quantity),
                available=line.available,
            )
            for line in view.lines
        ],
        total=view.money(view.total) if cart.currency else None,
        token=view.token,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
    )


def _viewer(token: str | None) -> service.CartViewer:
    return service.CartViewer(current_actor(), token)


# Categories


@router.get("/shop/categories", responses=errors(401, 422))
@public
async def list_categories(
    uow: Uow,
    organizer_id: uuid.UUID | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> CategoryPage:
    """Every organizer's categories, oldest first; ``organizer_id`` narrows to one."""
    page = await service.list_categories(uow, organizer_id=organizer_id, limit=limit, cursor=cursor)
    return CategoryPage(data=[_category_out(c) for c in page.items], next_cursor=page.next_cursor)


@router.post(
    "/shop/categories",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 409, 422),
)
async def create_category(body: CategoryCreate, _: ShopManager, uow: Uow) -> CategoryOut:
    """409 ``shop_category_slug_taken`` when you already use the slug."""
    return _category_out(await service.create_category(uow, current_actor(), body))


@router.get("/shop/categories/{category_id}", responses=errors(401, 404, 422))
@public
async def get_category(category_id: uuid.UUID, uow: Uow) -> CategoryOut:
    return _category_out(await service.get_category(uow, category_id))


@router.put("/shop/categories/{category_id}", responses=errors(401, 404, 409, 422))
async def update_category(
    category_id: uuid.UUID, body: CategoryUpdate, _: CurrentUser, uow: Uow
) -> CategoryOut:
    category = await service.update_category(uow, current_actor(), category_id, body)
    return _category_out(category)


@router.delete(
    "/shop/categories/{category_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 404, 422),
)
async def delete_category(category_id: uuid.UUID, _: CurrentUser, uow: Uow) -> None:
    """Its products and subcategories stay, without a category or parent."""
    await service.delete_category(uow, current_actor(), category_id)


# Products


@router.get("/shop/products", responses=errors(401, 422))
@public
async def list_products(
    uow: Uow,
    *,
    event_id: uuid.UUID | None = None,
    category: Annotated[uuid.UUID | None, Query(description="A category's id.")] = None,
    organizer_id: uuid.UUID | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> ProductPage:
    """Available products of published events or of no event; your own in any state; every
    one for staff. Newest first."""
    page = await service.list_products(
        uow,
        current_actor(),
        event_id=event_id,
        category_id=category,
        organizer_id=organizer_id,
        limit=limit,
        cursor=cursor,
    )
    return ProductPage(data=[_product_out(v) for v in page.items], next_cursor=page.next_cursor)


@router.post(
    "/shop/products",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 422),
)
async def create_product(body: ProductCreate, _: ShopManager, uow: Uow) -> ProductOut:
    """With ``event_id``, the product is the event's organizer's, sold in the event's currency."""
    return _product_out(await service.create_product(uow, current_actor(), body))


@router.get("/shop/products/{product_id}", responses=errors(401, 404, 422))
@public
async def get_product(product_id: uuid.UUID, uow: Uow) -> ProductOut:
    return _product_out(await service.get_product(uow, current_actor(), product_id))


@router.put("/shop/products/{product_id}", responses=errors(401, 404, 422))
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, _: CurrentUser, uow: Uow
) -> ProductOut:
    return _product_out(await service.update_product(uow, current_actor(), product_id, body))


@router.delete(
    "/shop/products/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 404, 422),
)
async def delete_product(product_id: uuid.UUID, _: CurrentUser, uow: Uow) -> None:
    """A soft delete: the product is never sold again, orders keep their lines."""
    await service.delete_product(uow, current_actor(), product_id)


@router.post("/shop/products/{product_id}/stock", responses=errors(401, 404, 409, 422))
async def adjust_stock(
    product_id: uuid.UUID, body: StockAdjustmentIn, _: CurrentUser, uow: Uow
) -> StockOut:
    """Add (restock, refund) or remove (correction) stock, by the product's organizer or staff.
    409 ``insufficient_stock`` when it would go below zero, ``shop_stock_not_tracked`` for
    unlimited stock."""
    move = await service.adjust_stock(uow, current_actor(), product_id, body)
    return StockOut(
        product_id=move.product_id,
        options=move.options,
        change=move.change,
        quantity=move.quantity,
        reason=move.reason,
    )


# Carts


@router.post("/carts", status_code=status.HTTP_201_CREATED, responses=errors(401))
@public
async def create_cart(uow: Uow) -> CartOut:
    """Signed in, the cart is yours; as a guest, the answer carries its ``token`` (once)."""
    return _cart_out(await service.create_cart(uow, current_actor()))


@router.get("/carts/{cart_id}", responses=errors(401, 404, 422))
@public
async def get_cart(cart_id: uuid.UUID, uow: Uow, x_cart_token: CartToken = None) -> CartOut:
    """Your cart, or a guest's with its ``X-Cart-Token``; any other is a 404."""
    return _cart_out(await service.get_cart(uow, _viewer(x_cart_token), cart_id))


@router.post(
    "/carts/{cart_id}/items",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 404, 409, 422),
)
@public
async def add_cart_item(
    cart_id: uuid.UUID, body: CartItemIn, uow: Uow, x_cart_token: CartToken = None
) -> CartOut:
    """A ticket tier (``tier_id``) or a product (``product_id`` with one value per option).
    The same product with the same options, in any order, adds to its line."""
    view = await service.add_item(uow, _viewer(x_cart_token), cart_id, body)
    return _cart_out(view)


@router.put("/carts/{cart_id}/items/{item_id}", responses=errors(401, 404, 409, 422))
@public
async def update_cart_item(
    cart_id: uuid.UUID,
    item_id: uuid.UUID,
    body: CartItemUpdate,
    uow: Uow,
    x_cart_token: CartToken = None,
) -> CartOut:
    view = await service.update_item(uow, _viewer(x_cart_token), cart_id, item_id, body.quantity)
    return _cart_out(view)


@router.delete("/carts/{cart_id}/items/{item_id}", responses=errors(401, 404, 409, 422))
@public
async def remove_cart_item(
    cart_id: uuid.UUID, item_id: uuid.UUID, uow: Uow, x_cart_token: CartToken = None
) -> CartOut:
    return _cart_out(await service.remove_item(uow, _viewer(x_cart_token), cart_id, item_id))
