"""Query and path parameters shared by the routes, each constrained to its alphabet: a value
outside it (a NUL byte, which PostgreSQL refuses in text, or a huge string) is a 422 naming
the parameter before it can reach the database, and the OpenAPI document declares the rule."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# Cursors are URL-safe base64 (core.pagination); guest order tokens are too, unpadded.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}={0,2}$"
URL_SAFE_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"

Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="The next_cursor of the page before.")
]
PageLimit = Annotated[int | None, Query(ge=1, le=200)]
OrderToken = Annotated[
    str | None,
    Query(pattern=URL_SAFE_PATTERN, description="A guest's order token, from the purchase."),
]
