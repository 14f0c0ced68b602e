"""Liveness and readiness for load balancers, and Prometheus metrics for operators."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import BaseModel
from redis.asyncio import Redis

from admitone.core.errors import ServiceUnavailable
from admitone.http.deps import get_runtime, public
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])
_CHECK_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/health", responses=errors(503))
@public
async def health(request: Request) -> Health:
    runtime = get_runtime(request)
    checks = {"database": await _check(runtime.database.ping())}
    redis = runtime.redis
    checks["redis"] = "not_configured" if redis is None else await _check(_ping_redis(redis))
    if "unavailable" in checks.values():
        raise ServiceUnavailable(details={"checks": checks})
    return Health(status="ok", checks=checks)


async def _ping_redis(redis: Redis) -> None:
    await redis.ping()


async def _check(probe: Awaitable[None]) -> str:
    # A probe that hangs (a blackholed host) must not hang the load balancer's health check.
    try:
        await asyncio.wait_for(probe, timeout=_CHECK_TIMEOUT_SECONDS)
    except Exception:
        return "unavailable"
    return "ok"


@metrics_router.get("/metrics", include_in_schema=False)
@public
async def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
