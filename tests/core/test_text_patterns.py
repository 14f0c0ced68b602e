"""The patterns the API document declares for text accept exactly what the validators do."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from admitone.core.text import SINGLE_LINE, SINGLE_LINE_PATTERN

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), SINGLE_LINE]
_name = TypeAdapter(Name)


@pytest.mark.parametrize(
    "value",
    ["a", "  Jane Doe  ", "\tVIP\n", "\u3000Ä\u00a0", "x\u0085", "a b", "\u2028tier\u2029"],
)
def test_single_line_text_the_pattern_accepts_is_accepted(value: str) -> None:
    assert re.fullmatch(SINGLE_LINE_PATTERN, value)
    _name.validate_python(value)


@pytest.mark.parametrize("value", ["", "   ", "a\nb", "a\x00", "\x1f", "a\x1fb", "\x7f", "\u3000"])
def test_single_line_text_the_pattern_refuses_is_refused(value: str) -> None:
    assert not re.fullmatch(SINGLE_LINE_PATTERN, value)
    with pytest.raises(ValidationError):
        _name.validate_python(value)


def test_single_line_text_declares_its_pattern() -> None:
    assert _name.json_schema()["pattern"] == SINGLE_LINE_PATTERN
