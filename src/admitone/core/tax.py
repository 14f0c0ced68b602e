"""Tax arithmetic, in integer minor units: what one line of a sale is worth net, in tax and
gross, and how a partial refund or credit note splits across accounts or lines.

Rounding: per line, half-up (commercial rounding). It is what buyers and tax offices expect on
a receipt ("0.5 cent rounds up"), and rounding each line once, rather than the sum of an order
per rate, makes every line of an invoice state its own tax that the invoice's totals then add
up to exactly, whatever lines a credit note later takes back. Half-even would move a cent on
ties in either direction, which a buyer checking a receipt by hand reads as an error.

A rate is kept in basis points (20 % is 2000): percent has at most two decimals, so every rate
is an integer and no float ever touches money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_RATE_BP = 10_000  # 100 %


@dataclass(frozen=True, slots=True)
class TaxRate:
    name: str
    rate_bp: int  # basis points: 2000 is 20 %
    inclusive: bool  # True: prices include the tax; False: the tax is added on top

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bp <= MAX_RATE_BP:
            raise ValueError("a tax rate is 0 to 100 %")


@dataclass(frozen=True, slots=True)
class LineTax:
    net: int
    tax: int
    gross: int


def _div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def line_tax(amount: int, rate: TaxRate | None) -> LineTax:
    """A line whose price after discount is ``amount``. Inclusive: ``amount`` is the gross and
    the tax is taken out of it; exclusive: ``amount`` is the net and the tax comes on top. No
    rate is no tax."""
    if amount < 0:
        raise ValueError("a line's amount is never negative")
    if rate is None or rate.rate_bp == 0:
        return LineTax(net=amount, tax=0, gross=amount)
    if rate.inclusive:
        tax = _div_half_up(amount * rate.rate_bp, MAX_RATE_BP + rate.rate_bp)
        return LineTax(net=amount - tax, tax=tax, gross=amount)
    tax = _div_half_up(amount * rate.rate_bp, MAX_RATE_BP)
    return LineTax(net=amount, tax=tax, gross=amount + tax)


def taken_so_far(totals: Sequence[int], taken: int) -> list[int]:
    """How much of each of ``totals`` is gone once ``taken`` of their sum is: the first its
    share rounded down, the next its share of what is left of ``taken`` among the rest, and so
    on, the last what remains. Each is non-decreasing in ``taken`` (one more unit taken moves at
    most one unit into exactly one bucket), so differences of it are never negative, and at the
    sum it is ``totals`` exactly."""
    if any(total < 0 for total in totals) or not 0 <= taken <= sum(totals):
        raise ValueError("cannot take more than there is")
    gone: list[int] = []
    whole, rest = sum(totals), taken
    for total in totals[:-1]:
        share = rest * total // whole if whole else 0
        gone.append(share)
        rest -= share
        whole -= total
    return [*gone, rest] if totals else []


def split(totals: Sequence[int], before: int, amount: int) -> list[int]:
    """Split ``amount`` across ``totals`` in proportion, after ``before`` was taken by earlier
    splits of the same totals: the partial refunds of one payment, the credit notes of one
    invoice. Derived from what was taken in all, never from the earlier splits themselves, so
    no share is negative, no bucket is ever taken past its total, and the split that takes the
    rest takes exactly each bucket's rest."""
    after = taken_so_far(totals, before + amount)
    now = taken_so_far(totals, before)
    return [a - b for a, b in zip(after, now, strict=True)]


@dataclass(frozen=True, slots=True)
class RateTotal:
    """The lines of one rate added up: what an order or invoice shows per rate."""

    name: str | None
    rate_bp: int
    inclusive: bool | None
    net: int
    tax: int
    gross: int


def totals_per_rate(
    lines: Iterable[tuple[str | None, int, bool | None, int, int, int]],
) -> list[RateTotal]:
    """``(name, rate_bp, inclusive, net, tax, gross)`` lines added up per rate, highest rate
    first. The lines were rounded one by one, so each rate's tax is its lines' tax exactly."""
    sums: dict[tuple[str | None, int, bool | None], list[int]] = {}
    for name, rate_bp, inclusive, net, tax, gross in lines:
        total = sums.setdefault((name, rate_bp, inclusive), [0, 0, 0])
        total[0] += net
        total[1] += tax
        total[2] += gross
    return [
        RateTotal(name, rate_bp, inclusive, net, tax, gross)
        for (name, rate_bp, inclusive), (net, tax, gross) in sorted(
            sums.items(), key=lambda item: (-item[0][1], item[0][0] or "", str(item[0][2]))
        )
    ]
