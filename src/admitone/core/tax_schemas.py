"""A tax rate as the API speaks it: ``{"name": "VAT", "percent": "20.00", "inclusive": true}``,
the percent a decimal string (or a whole number) with at most two decimals, 0 to 100."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StringConstraints

from admitone.core.bodies import StrictBody
from admitone.core.money import Money
from admitone.core.tax import RateTotal, TaxRate
from admitone.core.text import SINGLE_LINE

PERCENT_PATTERN = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"

TaxName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), SINGLE_LINE
]


def _whole_number_as_text(value: object) -> object:
    # A whole number is taken as its text (20 is "20"); a float is refused, as money is.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


# One type, so a refusal names the field alone ("tier.tax_rate.percent").
Percent = Annotated[
    str,
    StringConstraints(pattern=PERCENT_PATTERN),
    BeforeValidator(_whole_number_as_text),
]


class TaxRateIn(StrictBody):
    name: TaxName = Field(examples=["VAT"])
    percent: Percent = Field(
        description='0 to 100, at most two decimals, e.g. "20.00".', examples=["20.00"]
    )
    inclusive: StrictBool = Field(
        description="True: prices include the tax; false: the tax is charged on top."
    )

    def rate(self) -> TaxRate:
        basis_points = int(Decimal(self.percent) * 100)
        return TaxRate(self.name, basis_points, self.inclusive)


class TaxRateOut(BaseModel):
    name: str
    percent: str = Field(description='A decimal string, e.g. "20.00".')
    inclusive: bool

    @classmethod
    def of(cls, rate: TaxRate | None) -> TaxRateOut | None:
        if rate is None:
            return None
        return cls(name=rate.name, percent=percent_text(rate.rate_bp), inclusive=rate.inclusive)


def percent_text(rate_bp: int) -> str:
    return f"{rate_bp // 100}.{rate_bp % 100:02d}"


class RateTotalOut(BaseModel):
    name: str | None = Field(
        description="The rate's name; null for lines without tax, and on invoices (their lines "
        "carry the percent only)."
    )
    percent: str
    inclusive: bool | None = Field(description="As sold; null where name is.")
    net: str
    tax: str
    gross: str

    @classmethod
    def of(cls, total: RateTotal, currency: str) -> RateTotalOut:
        def money(amount: int) -> str:
            return Money(amount, currency).to_decimal_string()

        return cls(
            name=total.name,
            percent=percent_text(total.rate_bp),
            inclusive=total.inclusive,
            net=money(total.net),
            tax=money(total.tax),
            gross=money(total.gross),
        )
