"""Text that is safe to store: PostgreSQL refuses NUL in text (a 500 otherwise), and names,
keys and codes never need a newline or a tab."""

from __future__ import annotations

import re

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def single_line(value: str) -> str:
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value
