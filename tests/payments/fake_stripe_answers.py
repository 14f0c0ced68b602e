"""How the fake Stripe server answers: ``(http_status, body)``, errors in Stripe's envelope."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
Answer = tuple[int, Json]


def error(status: int, kind: str, message: str, **fields: Any) -> Answer:
    return status, {"error": {"type": kind, "message": message, **fields}}


def missing(kind: str, object_id: str, param: str | None = None) -> Answer:
    return error(
        404 if param is None else 400,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )
