"""Request ids, the envelope on routing errors and unexpected errors, and the OpenAPI document."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from admitone.http.deps import public
from admitone.http.routing import api_router
from tests.support.envelope import assert_envelope


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    other = await client.get("/api/health")
    assert other.headers["X-Request-ID"] != response.headers["X-Request-ID"]


async def test_a_safe_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Request-ID": "lb-42.abc_DEF-9"})
    assert response.headers["X-Request-ID"] == "lb-42.abc_DEF-9"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 65, "<script>", "new\\nline", "semi;colon"])
async def test_an_unsafe_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, unsafe: str
) -> None:
    response = await client.get("/api/health", headers={"X-Request-ID": unsafe})
    assert response.headers["X-Request-ID"] != unsafe
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


async def test_unknown_route_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no-such-thing")
    assert_envelope(response, 404, "not_found")
    assert response.headers["X-Request-ID"]


async def test_wrong_method_is_a_405_envelope(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/auth/login")
    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


async def test_an_unexpected_error_is_a_500_envelope_with_the_request_id(app: FastAPI) -> None:
    router = api_router()

    @router.get("/test-only/boom")
    @public
    async def boom() -> None:
        raise RuntimeError("a bug, with a secret inside")

    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://admitone.test") as client:
        response = await client.get("/api/test-only/boom", headers={"X-Request-ID": "<bad id>"})
    body = assert_envelope(response, 500, "internal_error")
    assert "secret" not in response.text
    assert re.fullmatch(r"[0-9a-f]{32}", body["details"]["request_id"])
    assert response.headers["X-Request-ID"] == body["details"]["request_id"]


async def test_openapi_declares_the_error_responses_of_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    login = document["paths"]["/api/auth/login"]["post"]
    assert {"200", "400", "401", "422", "429"} <= set(login["responses"])
    # 400 and 429 are declared once, by api_router, for every API route.
    me = document["paths"]["/api/me"]["get"]
    assert {"200", "400", "401", "429"} <= set(me["responses"])
    envelope = login["responses"]["401"]["content"]["application/json"]["schema"]
    assert envelope == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "statusCode",
        "error",
        "message",
        "details",
    }


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/events", "GET, POST"),
        ("/api/events/00000000-0000-0000-0000-000000000000", "DELETE, GET, PUT"),
        ("/api/events/00000000-0000-0000-0000-000000000000/tiers/x", "DELETE, PUT"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.request("PATCH", path)
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == allowed


async def test_openapi_declares_a_token_optional_on_public_routes_only(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    required: list[dict[str, list[str]]] = [{"HTTPBearer": []}]
    optional = [{}, *required]
    assert paths["/api/events"]["get"]["security"] == optional
    assert paths["/api/health"]["get"]["security"] == optional
    assert paths["/api/auth/login"]["post"]["security"] == optional
    assert paths["/api/events"]["post"]["security"] == required
    assert paths["/api/me"]["get"]["security"] == required


async def test_a_public_route_refuses_a_bad_token_as_its_document_says(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/openapi.json")).json()
    assert "401" in document["paths"]["/api/health"]["get"]["responses"]
    response = await client.get("/api/health", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
