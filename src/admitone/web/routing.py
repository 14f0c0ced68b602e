"""The router of the web pages: each request in one unit of work (as the API's), outside
``/api`` and out of the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from admitone.core.errors import DomainError
from admitone.http.routing import UnitOfWorkRoute
from admitone.web.errors import error_page


class PageRoute(UnitOfWorkRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                return await handler(request)
            except (DomainError, HTTPException, RequestValidationError):
                raise  # the app's handlers answer these with error pages
            except Exception as exc:
                # The unit of work has rolled back. Answered here because the request-context
                # middleware answers anything that reaches it with the API's JSON.
                return error_page(request, exc)

        return handle_page


def page_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)
