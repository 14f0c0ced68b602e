"""Domain errors of posts and coupons: one stable code per rule.

A code that is unknown, removed, or another organizer's answers the same ``coupon_invalid``
(422, naming the field): a buyer must not learn which codes other organizers use, and a 404 on
a purchase would read as "no such event".
"""

from __future__ import annotations

from admitone.core.errors import Conflict, InvalidInput, NotFound


class PostNotFound(NotFound):
    code = "post_not_found"
    default_message = "Post not found."


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = "Coupon not found."


class CouponCodeTaken(Conflict):
    code = "coupon_code_taken"
    default_message = "You already have a coupon with this code (codes ignore case)."


class InvalidCouponTarget(InvalidInput):
    code = "coupon_invalid_target"
    default_message = "The coupon's tiers, products or post must be yours."


class CouponInvalid(InvalidInput):
    code = "coupon_invalid"
    default_message = "This coupon code is not valid for this purchase."


class CouponNotYetValid(InvalidInput):
    code = "coupon_not_yet_valid"
    default_message = "This coupon is not valid yet."


class CouponExpired(InvalidInput):
    code = "coupon_expired"
    default_message = "This coupon has expired."


class CouponOutOfScope(InvalidInput):
    code = "coupon_out_of_scope"
    default_message = "This coupon does not apply to anything in this purchase."


class CouponCurrencyMismatch(InvalidInput):
    code = "coupon_currency_mismatch"
    default_message = "This coupon is in another currency than the purchase."


class CouponUsedUp(Conflict):
    code = "coupon_used_up"
    default_message = "This coupon has been used up."


class CouponBuyerLimitReached(Conflict):
    code = "coupon_buyer_limit_reached"
    default_message = "You have already used this coupon as often as it allows."
