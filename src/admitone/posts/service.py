"""Posts and coupons use cases. Other domains and the boundaries use them through this module
only: posts (``posts``), coupons (``coupons``), and a coupon at purchase (``redemption``, with
generic lines from ``discounts``, so ticket purchases and cart checkouts share it)."""

from __future__ import annotations

from admitone.posts.coupons import (
    amount_text,
    create_coupon,
    delete_coupon,
    get_coupon,
    list_coupons,
    percent_text,
    update_coupon,
)
from admitone.posts.discounts import Line, LineKind, line_discounts
from admitone.posts.posts import (
    create_post,
    create_post_from_event,
    delete_post,
    delete_posts_of_event,
    get_post,
    list_posts,
    update_post,
)
from admitone.posts.redemption import Applied
from admitone.posts.redemption import check as check_coupon
from admitone.posts.redemption import redeem as redeem_coupon
from admitone.posts.redemption import release as release_coupon

__all__ = [
    "Applied",
    "Line",
    "LineKind",
    "amount_text",
    "check_coupon",
    "create_coupon",
    "create_post",
    "create_post_from_event",
    "delete_coupon",
    "delete_post",
    "delete_posts_of_event",
    "get_coupon",
    "get_post",
    "line_discounts",
    "list_coupons",
    "list_posts",
    "percent_text",
    "redeem_coupon",
    "release_coupon",
    "update_coupon",
    "update_post",
]
