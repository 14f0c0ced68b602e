"""The FastAPI application factory: routers, middleware, error handlers and lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

import admitone.wiring  # noqa: F401 - registers every domain's job handlers and cron entries
from admitone import schema
from admitone.accounts.api import router as accounts_router
from admitone.activity.api import router as activity_router
from admitone.billing.api import router as billing_router
from admitone.config import Settings
from admitone.core.logs import configure_logging
from admitone.events.api import router as events_router
from admitone.http.deps import authenticate
from admitone.http.errors import install_error_handlers
from admitone.http.health import metrics_router
from admitone.http.health import router as health_router
from admitone.http.middleware import (
    BodySizeLimitMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
)
from admitone.http.openapi import install_openapi
from admitone.http.pending_holds import PendingHolds
from admitone.http.ratelimit import RateLimiter
from admitone.jobs.api import router as jobs_router
from admitone.jobs.worker import Worker
from admitone.ledger.api import router as ledger_router
from admitone.payment_settlement.api import router as payments_router
from admitone.posts.api import router as posts_router
from admitone.realtime.api import router as realtime_router
from admitone.realtime.slots import StreamSlots
from admitone.runtime import Runtime
from admitone.shop.api import router as shop_router
from admitone.support.api import router as support_router
from admitone.ticketing.api import router as ticketing_router
from admitone.ticketing.purchase.batching import PurchaseGroups
from admitone.web import site as web_site

# A request allocates thousands of short-lived objects, and at the default threshold (700) the
# cyclic collector's pauses fell on every request in flight (bench/README.md has the p99s).
GC_THRESHOLDS = (20_000, 50, 100)


def tune_garbage_collector() -> None:
    """What start-up built lives as long as the process: its garbage collected once, the rest
    frozen out of the collector's scans; and collections of the young generation made rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as ``/api/openapi.json`` serves it, without a server."""
    settings = Settings(env="test", database_url="sqlite+aiosqlite:///:memory:")
    return create_app(Runtime.build(settings)).openapi()


def create_app(runtime: Runtime | None = None, *, settings: Settings | None = None) -> FastAPI:
    owns_runtime = runtime is None
    if runtime is None:
        settings = settings or Settings()
        settings.ensure_signing_key()  # refuse to start rather than fail the first request
        configure_logging(json=settings.json_logs, level=settings.log_level)
        runtime = Runtime.build(settings)
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await schema.ensure_current(runtime.database, auto_migrate=settings.should_auto_migrate)
        if owns_runtime:
            await runtime.start()
        # Embedded mode: jobs run in this process unless dedicated `admitone worker`s do it.
        worker = Worker(runtime) if settings.run_worker_in_process else None
        try:
            if worker is not None:
                await worker.start()
            if owns_runtime:  # a server process of its own, not an app under test
                tune_garbage_collector()
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await app.state.pending_holds.aclose()
            if owns_runtime:
                await runtime.close()

    app = FastAPI(
        title="admitone",
        version="0.1.0",
        summary="Event ticketing that never sells a seat twice.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    # One per process: it groups the purchases arriving at this process concurrently.
    app.state.purchases = PurchaseGroups(runtime.unit_of_work, settings)
    app.state.limiter = RateLimiter(settings)
    app.state.pending_holds = PendingHolds(settings, runtime.clock)
    app.state.stream_slots = StreamSlots(
        per_client=settings.sse_max_streams_per_client, total=settings.sse_max_streams
    )

    for router in (
        health_router,
        accounts_router,
        events_router,
        ticketing_router,
        jobs_router,
        activity_router,
        ledger_router,
        payments_router,
        realtime_router,
        support_router,
        shop_router,
        posts_router,
        billing_router,
    ):
        app.include_router(router, dependencies=[Depends(authenticate)])
    app.include_router(metrics_router)

    install_error_handlers(app)
    # The HTML pages: outside /api, with cookie sessions the API never reads.
    web_site.install(app)
    install_openapi(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        default=settings.max_body_bytes,
        by_path={"/api/webhooks/stripe": settings.max_webhook_body_bytes},
    )
    app.add_middleware(RateLimitMiddleware, limiter=app.state.limiter)
    app.add_middleware(RequestContextMiddleware)
    return app
