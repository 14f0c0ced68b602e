"""The tax arithmetic: per line, half-up; partial takings in proportion that never overshoot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from admitone.core.tax import TaxRate, line_tax, split, taken_so_far, totals_per_rate

VAT = TaxRate("VAT", 2000, inclusive=True)
SALES_TAX = TaxRate("Sales tax", 825, inclusive=False)

rates = st.builds(
    TaxRate, st.sampled_from(["VAT", "GST", "Sales tax"]), st.integers(0, 10_000), st.booleans()
)
amounts = st.integers(0, 10**10)


def test_an_inclusive_price_holds_its_tax_and_an_exclusive_one_gets_it_on_top() -> None:
    inside = line_tax(12_000, VAT)
    assert (inside.net, inside.tax, inside.gross) == (10_000, 2_000, 12_000)
    added = line_tax(10_000, SALES_TAX)
    assert (added.net, added.tax, added.gross) == (10_000, 825, 10_825)
    assert line_tax(999, None) == line_tax(999, TaxRate("Zero", 0, inclusive=False))


def test_half_a_cent_of_tax_rounds_up() -> None:
    # 10 % of 5 cents is half a cent: commercial rounding makes it one.
    assert line_tax(5, TaxRate("T", 1000, inclusive=False)).tax == 1
    assert line_tax(4, TaxRate("T", 1000, inclusive=False)).tax == 0
    # 21 of 121 cents gross at 21 % inclusive: 21.0 exactly; 0.5 rounds up too.
    assert line_tax(121, TaxRate("T", 2100, inclusive=True)).tax == 21


@given(amounts, st.none() | rates)
def test_every_line_adds_up(amount: int, rate: TaxRate | None) -> None:
    line = line_tax(amount, rate)
    assert line.net + line.tax == line.gross
    assert min(line.net, line.tax) >= 0
    if rate is None or rate.inclusive:
        assert line.gross == amount
    else:
        assert line.net == amount


@given(st.lists(st.tuples(amounts, st.none() | rates), max_size=12))
def test_totals_per_rate_add_up_to_the_lines(lines: list[tuple[int, TaxRate | None]]) -> None:
    taxed = [(rate, line_tax(amount, rate)) for amount, rate in lines]
    totals = totals_per_rate(
        (
            rate.name if rate else None,
            rate.rate_bp if rate else 0,
            rate.inclusive if rate else None,
            line.net,
            line.tax,
            line.gross,
        )
        for rate, line in taxed
    )
    assert sum(t.net for t in totals) == sum(line.net for _, line in taxed)
    assert sum(t.tax for t in totals) == sum(line.tax for _, line in taxed)
    assert sum(t.gross for t in totals) == sum(line.gross for _, line in taxed)
    assert all(t.net + t.tax == t.gross for t in totals)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=6), st.data())
def test_partial_takings_never_overshoot_and_the_last_takes_exactly_the_rest(
    totals: list[int], data: st.DataObject
) -> None:
    whole = sum(totals)
    taken_each = [0] * len(totals)
    before = 0
    while before < whole:
        amount = data.draw(st.integers(1, whole - before))
        shares = split(totals, before, amount)
        assert sum(shares) == amount
        assert all(share >= 0 for share in shares)
        taken_each = [t + s for t, s in zip(taken_each, shares, strict=True)]
        assert all(t <= total for t, total in zip(taken_each, totals, strict=True))
        before += amount
    assert taken_each == totals


def test_taking_more_than_is_left_is_refused() -> None:
    with pytest.raises(ValueError):
        taken_so_far([10, 20], 31)
    with pytest.raises(ValueError):
        TaxRate("Too much", 10_001, inclusive=True)
