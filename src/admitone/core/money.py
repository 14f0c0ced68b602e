"""Money is an integer number of minor units plus an ISO 4217 code; the API speaks "50.00"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

from admitone.core.errors import InvalidInput

# Currencies whose minor unit is not the cent. Everything else has two decimals.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
MAX_MINOR_UNITS = 10**12
_MAX_DIGITS = 15  # orders of magnitude; anything larger is refused before arithmetic
_MAX_AMOUNT_CHARS = 64
_PRECISION = _MAX_AMOUNT_CHARS + 10  # enough digits that scaling never rounds


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def validate_currency(currency: str, field: str = "currency") -> str:
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise InvalidInput("Currency must be a three-letter ISO 4217 code.", field=field)
    return code


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    @classmethod
    def parse(cls, value: str | int | Decimal, currency: str, field: str = "amount") -> Money:
        """Parse a decimal string such as "50.00" into minor units, refusing lost precision."""
        code = validate_currency(currency)
        text = str(value).strip()
        if len(text) > _MAX_AMOUNT_CHARS:
            raise InvalidInput("Amount is too long.", field=field)
        try:
            decimal = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidInput(
                "Amount must be a decimal number such as 50.00.", field=field
            ) from exc
        if not decimal.is_finite():
            raise InvalidInput("Amount must be a finite number.", field=field)
        if decimal.adjusted() > _MAX_DIGITS:
            raise InvalidInput("Amount is too large.", field=field)
        # Exact arithmetic: the default context (28 digits) would round "1.000...0001" to 1.00.
        try:
            with localcontext(Context(prec=_PRECISION, traps=[Inexact, InvalidOperation])):
                scaled = decimal.scaleb(exponent(code))
        except ArithmeticError:
            scaled = Decimal("0.1")  # not representable exactly: refused as too precise below
        if scaled != scaled.to_integral_value():
            raise InvalidInput(
                f"{code} amounts have at most {exponent(code)} decimal places.", field=field
            )
        minor = int(scaled)
        if minor < 0:
            raise InvalidInput("Amount may not be negative.", field=field)
        if minor > MAX_MINOR_UNITS:
            raise InvalidInput("Amount is too large.", field=field)
        return cls(minor, code)

    def to_decimal_string(self) -> str:
        places = exponent(self.currency)
        return str(Decimal(self.amount).scaleb(-places).quantize(Decimal(1).scaleb(-places)))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")
