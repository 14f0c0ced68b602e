"""Input rules shared by events and tiers, each refusing with its own code and the field."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from admitone.core.money import Money
from admitone.events.errors import (
    EndsBeforeStart,
    InvalidCurrency,
    InvalidRefundDeadline,
    InvalidSalesWindow,
    InvalidTimezone,
    StartsInPast,
)
from admitone.events.models import RefundPolicy


def timezone(name: str, field: str = "event.timezone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidTimezone(field=field) from exc
    return name


def currency(code: str, field: str = "event.currency") -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidCurrency(field=field)
    return code


def price(value: str | int, currency_code: str, field: str) -> int:
    return Money.parse(value, currency_code, field=field).amount


def schedule(
    starts_at: datetime, ends_at: datetime | None, now: datetime, *, check_start: bool
) -> None:
    if check_start and starts_at <= now:
        raise StartsInPast(field="event.date")
    if ends_at is not None and ends_at <= starts_at:
        raise EndsBeforeStart(field="event.ends_at")


def refund_deadline(
    policy: RefundPolicy, deadline: datetime | None, starts_at: datetime
) -> datetime | None:
    """The deadline to store with ``policy``: needed by ``until_deadline`` only, and before the
    start (after it, "until the start" says the same)."""
    field = "event.refund_deadline"
    if policy != RefundPolicy.UNTIL_DEADLINE:
        if deadline is not None:
            raise InvalidRefundDeadline(
                "A refund deadline needs refund_policy until_deadline.", field=field
            )
        return None
    if deadline is None:
        raise InvalidRefundDeadline(
            "refund_policy until_deadline needs a refund_deadline.", field=field
        )
    if deadline >= starts_at:
        raise InvalidRefundDeadline(
            "The refund deadline must fall before the event starts.", field=field
        )
    return deadline


def sales_window(start: datetime | None, end: datetime | None, field: str) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidSalesWindow(field=f"{field}.sales_end")


def rescale(amount: int, old_exponent: int, new_exponent: int, field: str) -> int:
    """Keep a price's decimal value when the currency's minor unit changes (USD -> JPY)."""
    shift = new_exponent - old_exponent
    if shift >= 0:
        return amount * int(10**shift)
    factor = int(10**-shift)
    if amount % factor:
        raise InvalidCurrency(
            "A tier price cannot be expressed in this currency; change the prices first.",
            field=field,
        )
    return amount // factor
