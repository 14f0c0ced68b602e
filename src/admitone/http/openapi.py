"""The OpenAPI document, corrected where FastAPI cannot know what the server does.

Authentication is one global dependency, so FastAPI marks every route as needing a bearer
token. A public route takes one but does not need it (a presented token is still checked, and
may show more, say one's own orders): its security is declared optional, ``[{}, bearer]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from admitone.http.deps import BEARER_SCHEME, is_public

Document = dict[str, Any]


def install_openapi(app: FastAPI) -> None:
    generate: Callable[[], Document] = app.openapi

    def openapi() -> Document:
        # FastAPI caches the document until a route is added; the corrections are idempotent.
        return _declare_public_routes(app, generate())

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_public_routes(app: FastAPI, document: Document) -> Document:
    for route in iter_route_contexts(app.routes):
        if not (route.path_format in document["paths"] and is_public(route)):
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format].get(method.lower())
            security = operation.get("security", []) if operation else []
            if operation and {BEARER_SCHEME: []} in security and {} not in security:
                operation["security"] = [{}, *security]
    return document
