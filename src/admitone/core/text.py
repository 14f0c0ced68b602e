"""Text that is safe to store: PostgreSQL refuses NUL in text (a 500 otherwise), and names,
keys and codes never need a newline or a tab.

``SINGLE_LINE`` and ``NO_NUL`` validate and also declare the rule as a JSON Schema ``pattern``,
so that the API document says which strings the server takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# What pydantic's ``strip_whitespace`` strips (Unicode White_Space), spelt out: ``\s`` means
# something else in each regex dialect that reads the pattern (Python, ECMA, Rust).
_WHITESPACE = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROL = r"\x00-\x1f\x7f"
# Blank around (stripped), no control character inside, and not blank.
SINGLE_LINE_PATTERN = (
    rf"^[{_WHITESPACE}]*[^{_WHITESPACE}{_CONTROL}]"
    rf"(?:[^{_CONTROL}]*[^{_WHITESPACE}{_CONTROL}])?[{_WHITESPACE}]*$"
)
NO_NUL_PATTERN = r"^[^\x00]*$"


def single_line(value: str) -> str:
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


@dataclass(frozen=True, slots=True)
class _TextRule:
    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        declared = handler(schema)
        declared["pattern"] = self.pattern
        return declared


# For stripped text of at least one character: ``Annotated[str, StringConstraints(
# strip_whitespace=True, min_length=1, ...), SINGLE_LINE]``.
SINGLE_LINE = _TextRule(single_line, SINGLE_LINE_PATTERN)
NO_NUL = _TextRule(no_nul, NO_NUL_PATTERN)
