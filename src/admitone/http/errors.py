"""One renderer for every error: ``{"statusCode", "error", "message", "details"}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from admitone.core.errors import DomainError, RateLimited

log = structlog.get_logger("admitone.http")

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class PayloadTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body outgrows its limit. An ``HTTPException``, so
    that FastAPI's body parsing lets it through to the handler below (the 413 envelope) instead
    of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.details = {"max_bytes": limit}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"statusCode": status, "error": code, "message": message, "details": details or {}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "order", "quantity") -> "order.quantity"; the "body" prefix tells nobody anything.
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    log.info("request_refused", status=exc.status_code, error=exc.code, **_field(exc.details))
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


def _field(details: dict[str, Any]) -> dict[str, Any]:
    return {"field": details["field"]} if "field" in details else {}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never echo or log the offending input: it may be a password or a token.
    fields = [
        {
            "field": _field_path(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    if any(f["type"] == "json_invalid" for f in fields):
        log.info("request_refused", status=400, error="malformed_json")
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    first = fields[0]["field"] if fields else "body"
    log.info("request_refused", status=422, error="validation_error", field=first)
    return error_response(
        422,
        "validation_error",
        f"Invalid value for '{first}': {fields[0]['message']}" if fields else "Invalid request.",
        {"field": first, "fields": fields},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error."
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    details = exc.details if isinstance(exc, PayloadTooLarge) else None
    return error_response(exc.status_code, code, message, details, headers)


def _allowed_methods(request: Request) -> str:
    # Starlette answers with the methods of the first route matching the path, but a path has
    # one route per method (GET and POST /api/events): the resource allows all of theirs.
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.path and compile_path(route.path)[0].match(request.url.path):
            allowed |= route.methods
    return ", ".join(sorted(allowed))


def internal_error_response(request_id: str | None) -> JSONResponse:
    return error_response(
        500,
        "internal_error",
        "Something went wrong on our side. It has been logged.",
        {"request_id": request_id},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", exc_type=type(exc).__name__)
    # The id the middleware settled on: an incoming header may be unsafe to echo.
    return internal_error_response(getattr(request.state, "request_id", None))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
