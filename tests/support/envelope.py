"""The error envelope every refusal comes in."""

from __future__ import annotations

from typing import Any

import httpx

ENVELOPE_KEYS = {"statusCode", "error", "message", "details"}


def assert_envelope(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["statusCode"] == status
    assert body["error"] == error
    assert body["message"]
    return body
