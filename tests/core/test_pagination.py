from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from admitone.core.errors import InvalidInput
from admitone.core.pagination import MAX_LIMIT, clamp_limit, decode_cursor, encode_cursor

# A fixed id: parameters are test ids, and parallel workers must collect the same ones.
ROW_ID = "9f9353b9-5aad-4fce-9faa-6c271a6908c1"


def raw_cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_cursor_round_trips() -> None:
    at, row_id = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(at, row_id)) == (at, row_id)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",  # "not json"
        raw_cursor(42),
        raw_cursor(["2026-06-01T12:00:00+00:00"]),
        raw_cursor(["yesterday", ROW_ID]),
        raw_cursor(["2026-06-01T12:00:00+00:00", "not-a-uuid"]),
        raw_cursor([20260601, ROW_ID]),
        raw_cursor(["2026-06-01T12:00:00", ROW_ID]),  # naive: forged
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
def test_a_bad_cursor_is_a_422_on_the_cursor_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.status_code == 422
    assert caught.value.details["field"] == "cursor"


def test_limit_defaults_and_bounds() -> None:
    assert clamp_limit(None) > 0
    assert clamp_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(InvalidInput) as caught:
            clamp_limit(bad)
        assert caught.value.details["field"] == "limit"
