"""The shop: categories, products, their inventory, and carts."""
