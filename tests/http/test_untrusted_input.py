"""Path, query and body strings are checked against their alphabet before they reach the
database: a NUL byte (which PostgreSQL refuses in text) or an oversize value is a 422 naming
the field, never a 500, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.routing import BaseRoute

from admitone.accounts.models import Role
from admitone.core.bodies import StrictBody
from admitone.http.deps import public
from admitone.http.routing import api_router
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.support.envelope import assert_envelope

NUL = "\x00"
# Read raw bytes, verified by signature (never parsed into a body model).
RAW_BODY_ROUTES = {"/api/webhooks/stripe"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/orders/by-reference/AB%00CD", {}, "path.reference"),
        (f"/api/orders/by-reference/{'A' * 17}", {}, "path.reference"),
        ("/api/orders/by-reference/AB-CD", {}, "path.reference"),
        ("/api/orders/by-reference/ABCD2345", {"token": f"tok{NUL}en"}, "query.token"),
        ("/api/orders/by-reference/ABCD2345", {"token": "t" * 201}, "query.token"),
        ("/api/events", {"cursor": f"abc{NUL}"}, "query.cursor"),
        ("/api/events", {"cursor": "c" * 300}, "query.cursor"),
    ],
)
async def test_a_public_parameter_outside_its_alphabet_is_a_422(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params)
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == field


async def test_a_well_formed_unknown_reference_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/orders/by-reference/abcd2345", params={"token": "x-Y_1"})
    assert_envelope(response, 404, "order_not_found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"queue": f"default{NUL}"}, "query.queue"),
        ({"queue": "q" * 101}, "query.queue"),
        ({"kind": f"ticketing.expire_order{NUL}"}, "query.kind"),
        ({"kind": "k" * 201}, "query.kind"),
        ({"kind": "ticketing expire"}, "query.kind"),
    ],
)
async def test_job_filters_outside_their_alphabet_are_a_422(
    client: httpx.AsyncClient, runtime: Runtime, params: dict[str, str], field: str
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    response = await client.get("/api/admin/jobs", params=params, headers=headers)
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == field


async def test_well_formed_job_filters_still_filter(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    response = await client.get(
        "/api/admin/jobs",
        params={"queue": "emails", "kind": "notifications.send_email"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


class Inner(StrictBody):
    label: str


class Anything(StrictBody):
    note: str = ""
    tags: list[str] = []
    labels: dict[str, str] = {}
    inner: Inner | None = None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"note": f"a{NUL}b"}, "note"),
        ({"tags": ["ok", f"bad{NUL}"]}, "tags"),
        ({"labels": {f"k{NUL}": "v"}}, "labels"),
        ({"labels": {"k": f"v{NUL}"}}, "labels"),
        ({"inner": {"label": f"x{NUL}"}}, "inner.label"),
    ],
)
def test_no_string_of_any_request_body_may_carry_a_nul(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Anything.model_validate(data)
    (error,) = refused.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == field


async def test_a_nul_in_a_body_string_is_a_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    router = api_router()

    @router.post("/test-only/anything")
    @public
    async def anything(body: Anything) -> dict[str, str]:
        return {}

    app.include_router(router)
    response = await client.post("/api/test-only/anything", json={"inner": {"label": "a\x00"}})
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == "inner.label"


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from api_routes(router.routes)  # an included router


def test_every_json_body_of_the_api_is_a_strict_body(app: FastAPI) -> None:
    bodies = {
        f"{route.path}: {param.field_info.annotation}": param.field_info.annotation
        for route in api_routes(app.routes)
        if route.path not in RAW_BODY_ROUTES
        for param in route.dependant.body_params
    }
    assert len(bodies) > 5  # the walk found the API's bodies
    loose = [
        name
        for name, annotation in bodies.items()
        if not any(
            isinstance(t, type) and issubclass(t, StrictBody)
            for t in (annotation, *get_args(annotation))
        )
    ]
    assert loose == []
