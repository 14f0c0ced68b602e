"""The discount rule on generic lines (tiers and products alike), without a database."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from admitone.posts.discounts import Line, line_discounts
from admitone.posts.models import Coupon

TIER, SHIRT = uuid.uuid4(), uuid.uuid4()


def percent(
    basis_points: int, scope: str = "order", targets: list[uuid.UUID] | None = None
) -> Coupon:
    return Coupon(
        kind="percent",
        percent_off=basis_points,
        scope=scope,
        target_ids=[str(t) for t in targets or []],
    )


def fixed(amount: int, scope: str = "order", targets: list[uuid.UUID] | None = None) -> Coupon:
    return Coupon(
        kind="fixed",
        amount_off=amount,
        currency="USD",
        scope=scope,
        target_ids=[str(t) for t in targets or []],
    )


def test_a_percentage_is_rounded_down_per_line() -> None:
    lines = [Line("tier", TIER, 3, 3333), Line("product", SHIRT, 1, 2001)]
    # 9999 x 12.5 % = 1249.875 -> 1249; 2001 x 12.5 % = 250.125 -> 250
    assert line_discounts(percent(1250), lines) == [1249, 250]


def test_a_products_coupon_leaves_ticket_lines_alone() -> None:
    lines = [Line("tier", TIER, 1, 5000), Line("product", SHIRT, 2, 2500)]
    assert line_discounts(percent(5000, "products", [SHIRT]), lines) == [0, 2500]
    assert line_discounts(fixed(1000, "tiers", [TIER]), lines) == [1000, 0]


def test_a_fixed_amount_is_allotted_in_line_order_and_never_beyond_the_lines() -> None:
    lines = [Line("tier", TIER, 1, 700), Line("product", SHIRT, 1, 500)]
    assert line_discounts(fixed(1000), lines) == [700, 300]
    assert line_discounts(fixed(5000), lines) == [700, 500]


lines_strategy = st.lists(
    st.builds(
        Line,
        kind=st.sampled_from(["tier", "product"]),
        id=st.sampled_from([TIER, SHIRT]),
        quantity=st.integers(1, 50),
        unit_price=st.integers(0, 10**7),
    ),
    min_size=1,
    max_size=6,
)


@given(lines_strategy, st.integers(1, 10_000))
def test_a_percentage_never_gives_more_than_it_says(lines: list[Line], basis_points: int) -> None:
    shares = line_discounts(percent(basis_points), lines)
    for line, share in zip(lines, shares, strict=True):
        assert 0 <= share <= line.total
        assert share * 10_000 <= line.total * basis_points < (share + 1) * 10_000


@given(lines_strategy, st.integers(1, 10**8))
def test_a_fixed_amount_never_makes_a_total_negative(lines: list[Line], amount: int) -> None:
    shares = line_discounts(fixed(amount), lines)
    total = sum(line.total for line in lines)
    assert sum(shares) == min(amount, total)
    assert all(0 <= s <= line.total for s, line in zip(shares, lines, strict=True))
