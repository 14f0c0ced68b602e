"""Shop use cases. Other domains and the boundaries use the shop through this module only: the
catalogue (``catalog``), the inventory the purchase pipeline takes and gives back stock through
(``inventory``), and carts (``carts``)."""

from __future__ import annotations

from admitone.shop.carts import (
    CartView,
    CartViewer,
    LineView,
    add_item,
    create_cart,
    get_cart,
    remove_item,
    update_item,
)
from admitone.shop.catalog import (
    ProductView,
    create_category,
    create_product,
    delete_category,
    delete_product,
    get_category,
    get_product,
    list_categories,
    list_products,
    set_products_available,
    update_category,
    update_product,
)
from admitone.shop.checkout import (
    CheckoutCart,
    CheckoutLine,
    ProductSale,
    cart_for_checkout,
    close_cart,
    price_products,
)
from admitone.shop.errors import (
    CartChanged,
    CartNotOpen,
    InsufficientStock,
    MixedOrganizers,
    ProductNotFound,
    TierNotFound,
)
from admitone.shop.inventory import (
    StockLine,
    StockMove,
    adjust_stock,
    counter_key,
    release_stock,
    take_stock,
)
from admitone.shop.models import StockReason

__all__ = [
    "CartChanged",
    "CartNotOpen",
    "CartView",
    "CartViewer",
    "CheckoutCart",
    "CheckoutLine",
    "InsufficientStock",
    "LineView",
    "MixedOrganizers",
    "ProductNotFound",
    "ProductSale",
    "ProductView",
    "StockLine",
    "StockMove",
    "StockReason",
    "TierNotFound",
    "add_item",
    "adjust_stock",
    "cart_for_checkout",
    "close_cart",
    "counter_key",
    "create_cart",
    "create_category",
    "create_product",
    "delete_category",
    "delete_product",
    "get_cart",
    "get_category",
    "get_product",
    "list_categories",
    "list_products",
    "price_products",
    "release_stock",
    "remove_item",
    "set_products_available",
    "take_stock",
    "update_category",
    "update_item",
    "update_product",
]
