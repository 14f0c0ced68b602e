"""Liveness and readiness for load balancers, and Prometheus metrics for operators."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from pydantic import BaseModel

from admitone.core.errors import ServiceUnavailable
from admitone.http.deps import get_runtime, public
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/health", responses=errors(503))
@public
async def health(request: Request) -> Health:
    runtime = get_runtime(request)
    checks: dict[str, str] = {}
    try:
        await runtime.database.ping()
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    if runtime.redis is None:
        checks["redis"] = "not_configured"
    else:
        try:
            await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unavailable"
    if "unavailable" in checks.values():
        raise ServiceUnavailable(details={"checks": checks})
    return Health(status="ok", checks=checks)


@metrics_router.get("/metrics", include_in_schema=False)
@public
async def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
