"""The support routes say in the OpenAPI document what they answer and what they refuse."""

from __future__ import annotations

import httpx


async def test_openapi_declares_the_support_routes_errors_and_limits(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    declared = {
        ("get", "/api/support/requests"): {"200", "401", "422", "429"},
        ("post", "/api/support/requests"): {"201", "401", "404", "422", "429"},
        ("post", "/api/support/requests/bulk"): {"200", "401", "404", "409", "422"},
        ("get", "/api/support/requests/{request_id}"): {"200", "401", "404", "422"},
        ("patch", "/api/support/requests/{request_id}"): {"200", "401", "403", "404", "409"},
        ("post", "/api/support/requests/{request_id}/comments"): {
            "201",
            "401",
            "403",
            "404",
            "409",
            "422",
            "429",
        },
    }
    for (method, path), statuses in declared.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
    schemas = document["components"]["schemas"]
    body = schemas["CommentCreate"]["properties"]["body"]
    assert (body["minLength"], body["maxLength"]) == (1, 10_000)
    assert "pattern" in body
    assert schemas["BulkUpdate"]["properties"]["ids"]["maxItems"] == 100
    assert schemas["RequestCreate"]["properties"]["subject"]["maxLength"] == 200
