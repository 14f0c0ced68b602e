"""A route class that wraps every API call in one unit of work (rule 1).

The unit of work commits after the endpoint returned its response object and before a byte is
sent, so a client never sees a success that was not committed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from admitone.core.actor import ANONYMOUS, acting_as
from admitone.http.responses import errors
from admitone.runtime import Runtime

_READONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # The body size limit is enforced before any route runs (BodySizeLimitMiddleware), so
        # every route that reads a body can answer 413, declared or not.
        if self.body_field is not None or "requestBody" in (self.openapi_extra or {}):
            self.responses = {**self.responses, **errors(413)}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle_in_unit_of_work(request: Request) -> Response:
            runtime: Runtime = request.app.state.runtime
            readonly = request.method in _READONLY_METHODS
            # Authentication sets the actor; until then every request acts as a guest.
            with acting_as(ANONYMOUS):
                async with runtime.unit_of_work(readonly=readonly) as uow:
                    request.state.uow = uow
                    return await handler(request)

        return handle_in_unit_of_work


def api_router(**kwargs: Any) -> APIRouter:
    """The router of every domain's ``api`` module: each call runs in one unit of work, under
    ``/api`` (declared here, not at inclusion, so route paths in logs and metrics are whole)."""
    # Every API route can answer a malformed body (400), a presented token that is not valid
    # (401, public routes too) and the per-client limit (429).
    responses = {**errors(400, 401, 429), **kwargs.pop("responses", {})}
    return APIRouter(route_class=UnitOfWorkRoute, prefix="/api", responses=responses, **kwargs)
