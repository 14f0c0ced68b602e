"""The metadata allow-list: every key an activity entry may carry, and the kind of its value.

Safety comes from the value kinds, not from trust in the caller: a kind admits only shapes that
cannot hold an email, a phone or card number, a name, a token or free text (UUIDs, lower-case
codes, integers, booleans, three-letter currencies, upper-case references mixing letters and
digits). A key that is not listed is refused, so adding one is a reviewed change to this file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from admitone.activity.errors import UnsafeActivityMetadata

MetadataValue = str | int | bool
Check = Callable[[object], MetadataValue]

_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# A reference needs a letter and a digit: a phone or card number has no letter, a name in
# capitals has no digit.
_REFERENCE = re.compile(r"(?=[A-Z0-9-]*[A-Z])(?=[A-Z0-9-]*[0-9])[A-Z0-9][A-Z0-9-]{0,39}")
_MAX_INT = 2**53  # beyond it JSON readers lose precision


def _uuid(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise ValueError("expected a UUID")


def _pattern(pattern: re.Pattern[str], expected: str) -> Check:
    def check(value: object) -> str:
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
        raise ValueError(f"expected {expected}")

    return check


def _integer(*, minimum: int) -> Check:
    def check(value: object) -> int:
        # bool is an int in Python; True is not an amount.
        if isinstance(value, int) and not isinstance(value, bool) and minimum <= value < _MAX_INT:
            return value
        raise ValueError(f"expected an integer of at least {minimum}")

    return check


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("expected a boolean")


UUID = _uuid
CODE = _pattern(_CODE, "a lower-case code such as a status or a role")
CURRENCY = _pattern(_CURRENCY, "a three-letter ISO currency code")
REFERENCE = _pattern(_REFERENCE, "an upper-case reference such as INV-2026-0001")
AMOUNT = _integer(minimum=-_MAX_INT)  # minor units; negative for refunds and corrections
COUNT = _integer(minimum=0)
BOOLEAN = _boolean


def _keys(check: Check, *names: str) -> dict[str, Check]:
    return dict.fromkeys(names, check)


ALLOWED_KEYS: Mapping[str, Check] = {
    **_keys(
        UUID,
        "user_uuid",
        "event_uuid",
        "tier_uuid",
        "reservation_uuid",
        "order_uuid",
        "ticket_uuid",
        "payment_uuid",
        "refund_uuid",
        "invoice_uuid",
        "subscription_uuid",
        "product_uuid",
        "cart_uuid",
        "post_uuid",
        "coupon_uuid",
        "support_ticket_uuid",
        "assignee_uuid",
        "old_assignee_uuid",
        "job_uuid",
    ),
    **_keys(CODE, "status", "old_status", "new_status", "role", "old_role", "new_role"),
    **_keys(CODE, "reason", "kind", "channel", "gateway", "queue"),
    **_keys(CODE, "priority", "old_priority", "new_priority", "category"),
    **_keys(CURRENCY, "currency", "expected_currency", "received_currency"),
    **_keys(
        AMOUNT,
        "amount",
        "old_amount",
        "new_amount",
        "total_amount",
        "discount_amount",
        "tax_amount",
        "refund_amount",
        "expected_amount",
        "received_amount",
    ),
    **_keys(
        COUNT,
        "count",
        "quantity",
        "old_quantity",
        "new_quantity",
        "capacity",
        "old_capacity",
        "new_capacity",
        "attempt",
    ),
    **_keys(REFERENCE, "order_number", "invoice_number", "reference"),
    **_keys(BOOLEAN, "forced", "partial", "notified", "free"),
}


@dataclass(frozen=True, slots=True)
class CleanMetadata:
    values: dict[str, MetadataValue]
    dropped: list[UnsafeActivityMetadata] = field(default_factory=list)


def clean_metadata(metadata: Mapping[str, object] | None, *, strict: bool) -> CleanMetadata:
    """Keep the allowed keys with values of their kind; in strict mode refuse anything else."""
    values: dict[str, MetadataValue] = {}
    dropped: list[UnsafeActivityMetadata] = []
    for key, value in (metadata or {}).items():
        try:
            values[key] = _clean(key, value)
        except UnsafeActivityMetadata as refusal:
            if strict:
                raise
            dropped.append(refusal)
    return CleanMetadata(values, dropped)


def _clean(key: object, value: object) -> MetadataValue:
    check = ALLOWED_KEYS.get(key) if isinstance(key, str) else None
    if check is None:
        # An unknown key is named in the refusal only when it looks like an identifier: a key
        # can itself be the PII ({"ada@example.com": 1}).
        shown = key if isinstance(key, str) and _CODE.fullmatch(key) else "<not an identifier>"
        raise UnsafeActivityMetadata(shown, "the key is not on the allow-list")
    try:
        return check(value)
    except ValueError as exc:
        raise UnsafeActivityMetadata(str(key), str(exc)) from None
