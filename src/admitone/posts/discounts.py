"""What a coupon takes off a purchase, in minor units, for any kind of line.

Lines are generic (a ticket tier's or a shop product's: kind, id, quantity, unit price as sold),
so ticket purchases and cart checkouts ask the same question.

Rounding: a percentage is applied per eligible line, to the line's total (unit price times
quantity), and rounded *down* to the minor unit; the order's discount is the sum of its lines'.
Rounding down means the buyer never gets more than the advertised percentage, and a line's
discount does not depend on what else is in the order. A fixed amount is taken off the eligible
lines' total, never more than it (a discount never makes a total negative), and allotted to the
eligible lines in order, each up to its own total.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from admitone.posts.models import Coupon, CouponScope, DiscountKind

BASIS_POINTS = 10_000  # percent_off is in hundredths of a percent

LineKind = Literal["tier", "product"]


@dataclass(frozen=True, slots=True)
class Line:
    kind: LineKind
    id: uuid.UUID
    quantity: int
    unit_price: int  # minor units, as sold

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


def eligible(coupon: Coupon, line: Line) -> bool:
    scope = CouponScope(coupon.scope)
    if scope == CouponScope.ORDER:
        return True
    wanted: LineKind = "tier" if scope == CouponScope.TIERS else "product"
    return line.kind == wanted and str(line.id) in coupon.target_ids


def line_discounts(coupon: Coupon, lines: Sequence[Line]) -> list[int]:
    """The discount of each line, in the order given (0 for a line out of scope)."""
    if DiscountKind(coupon.kind) == DiscountKind.PERCENT:
        percent = coupon.percent_off or 0
        return [
            line.total * percent // BASIS_POINTS if eligible(coupon, line) else 0 for line in lines
        ]
    left = coupon.amount_off or 0
    shares: list[int] = []
    for line in lines:
        share = min(left, line.total) if eligible(coupon, line) else 0
        shares.append(share)
        left -= share
    return shares
