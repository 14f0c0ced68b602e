"""Domain errors of the shop: one stable code per rule."""

from __future__ import annotations

from admitone.core.errors import Conflict, InvalidInput, NotFound


class CategoryNotFound(NotFound):
    code = "shop_category_not_found"
    default_message = "Category not found."


class ProductNotFound(NotFound):
    code = "shop_product_not_found"
    default_message = "Product not found."


class TierNotFound(NotFound):
    code = "tier_not_found"
    default_message = "Ticket tier not found, or its event is not on sale."


class CartNotFound(NotFound):
    code = "cart_not_found"
    default_message = "Cart not found."


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"
    default_message = "Cart item not found."


class CategorySlugTaken(Conflict):
    code = "shop_category_slug_taken"
    default_message = "You already have a category with this slug."


class InvalidCategoryParent(InvalidInput):
    code = "shop_invalid_category_parent"
    default_message = "The parent must be another of your categories, and not one of its own."


class UnknownCategory(InvalidInput):
    code = "shop_unknown_category"
    default_message = "The category is not one of the product's organizer's."


class UnknownEvent(InvalidInput):
    code = "shop_unknown_event"
    default_message = "The event is not one you manage."


class InvalidPrice(InvalidInput):
    code = "shop_invalid_price"
    default_message = "A price must be a positive decimal amount such as 12.50."


class CurrencyMismatch(InvalidInput):
    code = "shop_currency_mismatch"
    default_message = "The currency differs from the one this requires."


class InvalidOptions(InvalidInput):
    code = "shop_invalid_options"
    default_message = "The options are not ones the product offers."


class InvalidStock(InvalidInput):
    code = "shop_invalid_stock"
    default_message = "The stock does not fit the product's stock tracking."


class StockNotTracked(Conflict):
    code = "shop_stock_not_tracked"
    default_message = "This product's stock is unlimited: there is nothing to adjust."


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    default_message = "Not enough stock left for this line."


class MixedOrganizers(InvalidInput):
    code = "cart_mixed_organizers"
    default_message = "A cart holds the products and tickets of one organizer only."


class CartNotOpen(Conflict):
    code = "cart_not_open"
    default_message = "This cart has been checked out."


class LineQuantityTooLarge(InvalidInput):
    code = "cart_quantity_too_large"
    default_message = "A cart line holds at most 1000 items."


class ItemChoiceInvalid(InvalidInput):
    code = "cart_item_invalid"
    default_message = "Name exactly one of tier_id and product_id; tickets take no options."


class CartChanged(Conflict):
    code = "cart_changed"
    default_message = "The cart changed while it was being checked out; check it out again."
