"""OpenAPI declarations of the error envelope, so every error response is documented."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DESCRIPTIONS = {
    400: "Bad request or malformed JSON",
    401: "Not signed in, or the token is invalid or expired",
    402: "The payment failed",
    403: "Signed in, but not allowed",
    404: "Not found (also for another user's resources)",
    409: "Conflicts with the current state",
    413: "The request body is larger than its limit (details.max_bytes)",
    422: "The body or a parameter is invalid; details.field names it",
    429: "Rate limited; see Retry-After",
    503: "A dependency is unavailable",
}


class ErrorBody(BaseModel):
    statusCode: int
    error: str
    message: str
    details: dict[str, Any]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}
