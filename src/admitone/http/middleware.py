"""Pure ASGI middleware: request ids, access logs and metrics, the per-client rate limit, and
the request body size limit."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admitone.http.errors import PayloadTooLarge, error_response, internal_error_response
from admitone.http.ratelimit import RateLimiter, Verdict

log = structlog.get_logger("admitone.access")

REQUESTS = Counter(
    "admitone_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "admitone_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and scrapes must keep working while a client is being throttled, and Stripe's webhooks
# (authenticated by their signature) arrive from a few addresses in bursts during an on-sale.
_UNLIMITED_PATHS = frozenset({"/api/health", "/metrics", "/api/webhooks/stripe"})
# The web pages' stylesheets and scripts: one page view fetches several, from every browser's
# cache after the first.
_UNLIMITED_PREFIX = "/static/"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answer here rather than in Starlette's outermost handler, so that the 500 carries
            # the request id an operator greps the logs for. That handler still logs the error.
            if not response_started:
                await internal_error_response(request_id)(scope, receive, send_with_id)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            # The path, never the query string: it may carry a guest's order token.
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class RateLimitMiddleware:
    """The general budget of every client, plus ``X-RateLimit-*`` headers on every response."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in _UNLIMITED_PATHS
            or scope["path"].startswith(_UNLIMITED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        verdict = await self.limiter.hit(self.limiter.default, "default", f"ip:{ip}")
        state: dict[str, Any] = scope.setdefault("state", {})
        verdicts: list[Verdict] = state.setdefault("rate_limits", [])
        verdicts.append(verdict)
        if not verdict.allowed:
            response = error_response(
                429,
                "rate_limited",
                "Too many requests. Try again later.",
                {"retry_after": verdict.retry_after},
                {"Retry-After": str(verdict.retry_after), **_headers(verdict)},
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                tightest = min(verdicts, key=lambda v: (v.allowed, v.remaining))
                headers = message.setdefault("headers", [])
                headers.extend(
                    (k.lower().encode(), v.encode()) for k, v in _headers(tightest).items()
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(verdict: Verdict) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(verdict.limit),
        "X-RateLimit-Remaining": str(verdict.remaining),
        "X-RateLimit-Reset": str(int(verdict.reset_at)),
    }


class BodySizeLimitMiddleware:
    """Refuses a body over its path's limit before it is read into memory: at once when its
    ``Content-Length`` says so, and as soon as the bytes streamed in (chunked) pass it."""

    def __init__(self, app: ASGIApp, *, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        response_started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def send_tracked(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_tracked)
        except PayloadTooLarge:
            # Read outside a route (which would have answered through the error handlers).
            if response_started:
                raise
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    error = PayloadTooLarge(limit)
    return error_response(
        413,
        "payload_too_large",
        error.detail,
        error.details,
        # The rest of the body is not read: the connection cannot carry another request.
        {"Connection": "close"},
    )
