from __future__ import annotations

from decimal import Decimal

import pytest

from admitone.core.errors import InvalidInput
from admitone.core.money import Money


@pytest.mark.parametrize(
    ("text", "currency", "minor", "back"),
    [
        ("50.00", "USD", 5000, "50.00"),
        ("50", "usd", 5000, "50.00"),
        ("0.1", "EUR", 10, "0.10"),
        ("1500", "JPY", 1500, "1500"),
        ("1500.00", "JPY", 1500, "1500"),
        ("1.234", "KWD", 1234, "1.234"),
        ("0.5", "KWD", 500, "0.500"),
        ("0", "USD", 0, "0.00"),
        (" 12.30 ", "GBP", 1230, "12.30"),
    ],
)
def test_parse_and_format_round_trip(text: str, currency: str, minor: int, back: str) -> None:
    money = Money.parse(text, currency)
    assert money == Money(minor, currency.upper())
    assert money.to_decimal_string() == back


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.001", "USD"),
        ("1.5", "JPY"),
        ("1.2345", "KWD"),
        ("-1.00", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("-inf", "EUR"),
        ("", "USD"),
        ("fifty", "USD"),
        ("1,00", "EUR"),
        ("1e100", "USD"),
        ("10000000000.01", "USD"),
        ("1.00000000000000000000000000001", "USD"),  # would round to 1.00 at 28 digits
        ("1" + "0" * 80, "USD"),
    ],
)
def test_parse_refuses_what_it_cannot_represent_exactly(text: str, currency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.parse(text, currency, field="price")
    assert caught.value.details["field"] == "price"


@pytest.mark.parametrize("currency", ["US", "USDX", "12$", "ÜSD"])
def test_parse_refuses_a_currency_that_is_not_an_iso_code(currency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.parse("1.00", currency)
    assert caught.value.details["field"] == "currency"


def test_parse_accepts_decimals_and_integers() -> None:
    assert Money.parse(Decimal("2.50"), "USD").amount == 250
    assert Money.parse(3, "JPY").amount == 3


def test_arithmetic_keeps_the_currency_and_refuses_mixing() -> None:
    ten = Money.parse("10.00", "EUR")
    assert (ten + ten).to_decimal_string() == "20.00"
    assert (ten * 3 - ten).amount == 2000
    with pytest.raises(ValueError, match="cannot combine"):
        ten + Money.parse("1", "USD")
