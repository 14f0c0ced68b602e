"""Error pages: an error on a page answers a page a person can read, not the API's JSON. The
API's handlers stay as they are for ``/api`` (and ``/metrics``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from admitone.core.errors import DomainError, RateLimited
from admitone.web.templating import render

log = structlog.get_logger("admitone.web")

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]

_TITLES = {
    400: "That request could not be understood",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "That cannot be done now",
    422: "Please check what you entered",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
_MESSAGES = {
    404: "There is nothing at this address. It may have been removed, or the link is mistyped.",
    405: "This address does not accept that kind of request.",
    422: "This address is not valid.",
    500: "Something went wrong on our side. It has been logged; please try again.",
}


def is_page(path: str) -> bool:
    return not (path == "/api" or path.startswith("/api/") or path == "/metrics")


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DomainError):
        status, message = exc.status_code, exc.message
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        message = _MESSAGES.get(status, "That request could not be handled.")
    elif isinstance(exc, RequestValidationError):
        status, message = 404, _MESSAGES[404]  # a malformed id in an address is no such page
    else:
        log.exception("unhandled_error", exc_type=type(exc).__name__)
        status, message = 500, _MESSAGES[500]
    title = _TITLES.get(status, "That did not work")
    response = render(
        request,
        None,
        "error.html.j2",
        {"title": title, "message": message, "status": status},
        status_code=status,
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install_error_pages(app: FastAPI) -> None:
    """Wrap every installed error handler: pages get ``error_page``, the API its own."""
    for exc_class, api_handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_class, _pages_or(api_handler))


def _pages_or(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_page(request.url.path):
            return error_page(request, exc)
        response = api_handler(request, exc)
        return await response if isinstance(response, Awaitable) else response

    return handle
