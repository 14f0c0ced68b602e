"""The base of every JSON request body: unknown fields refused, and no NUL character in any
string it carries, however nested. PostgreSQL refuses NUL in text (a 500 if it got that far),
and no field of ours has a use for it, so the rule lives here once rather than on each field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    # A nested body checked its own fields (naming the exact one); other types hold no text.
    return False


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value
