"""The three columns that hold a tax rate on whatever carries one (a tier, a product, an
event's default): all set or all null, null being "no rate of its own"."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from admitone.core.tax import TaxRate

TAX_RATE_CHECK = (
    "(tax_name IS NULL) = (tax_rate_bp IS NULL) AND (tax_name IS NULL) = (tax_inclusive IS NULL) "
    "AND (tax_rate_bp IS NULL OR (tax_rate_bp >= 0 AND tax_rate_bp <= 10000))"
)


def tax_rate_check() -> CheckConstraint:
    return CheckConstraint(TAX_RATE_CHECK, name="tax_rate_whole")


class TaxRateColumns:
    tax_name: Mapped[str | None] = mapped_column(String(50))
    tax_rate_bp: Mapped[int | None] = mapped_column(Integer)
    tax_inclusive: Mapped[bool | None] = mapped_column(Boolean)

    @property
    def tax_rate(self) -> TaxRate | None:
        if self.tax_name is None or self.tax_rate_bp is None or self.tax_inclusive is None:
            return None
        return TaxRate(self.tax_name, self.tax_rate_bp, self.tax_inclusive)

    @tax_rate.setter
    def tax_rate(self, rate: TaxRate | None) -> None:
        self.tax_name = rate.name if rate else None
        self.tax_rate_bp = rate.rate_bp if rate else None
        self.tax_inclusive = rate.inclusive if rate else None
