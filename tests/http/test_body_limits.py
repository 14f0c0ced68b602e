"""Request bodies are size-limited before they are read into memory: small for JSON, larger only
for Stripe's webhook; over the limit is a 413 in the error envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from admitone.app import openapi_document
from admitone.config import Settings
from tests.support.envelope import assert_envelope

JSON_LIMIT = 4096
WEBHOOK_LIMIT = 32_768
CHUNK = 1024
JSON_ROUTE = "/api/auth/login"
WEBHOOK = "/api/webhooks/stripe"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"max_body_bytes": JSON_LIMIT, "max_webhook_body_bytes": WEBHOOK_LIMIT}
    )


class CountingBody:
    """A chunked body of ``chunks`` chunks that counts how many the server pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b" " * CHUNK


async def declared_only(app: FastAPI, path: str, length: int) -> tuple[int, bytes, int]:
    """POST with a ``Content-Length`` of ``length`` and count the reads of the body."""
    reads = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"admitone.test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
        ],
        "client": ("203.0.113.7", 50000),
        "server": ("admitone.test", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, reads


@pytest.mark.parametrize(("path", "limit"), [(JSON_ROUTE, JSON_LIMIT), (WEBHOOK, WEBHOOK_LIMIT)])
async def test_a_declared_oversize_body_is_refused_before_a_byte_is_read(
    app: FastAPI, path: str, limit: int
) -> None:
    status, body, reads = await declared_only(app, path, limit + 1)
    assert status == 413
    assert b'"error":"payload_too_large"' in body
    assert f'"max_bytes":{limit}'.encode() in body
    assert reads == 0


@pytest.mark.parametrize(("path", "limit"), [(JSON_ROUTE, JSON_LIMIT), (WEBHOOK, WEBHOOK_LIMIT)])
async def test_a_chunked_oversize_body_is_refused_once_it_passes_the_limit(
    client: httpx.AsyncClient, path: str, limit: int
) -> None:
    body = CountingBody(chunks=10 * limit // CHUNK)
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # really chunked
    envelope = assert_envelope(response, 413, "payload_too_large")
    assert envelope["details"] == {"max_bytes": limit}
    # Reading stopped at the limit: the rest of the body never entered the process.
    assert body.pulled <= limit // CHUNK + 2


async def test_the_webhook_takes_a_body_larger_than_the_json_limit(
    client: httpx.AsyncClient,
) -> None:
    payload = b'{"padding": "' + b"x" * (WEBHOOK_LIMIT // 2) + b'"}'
    response = await client.post(
        WEBHOOK, content=payload, headers={"Stripe-Signature": "t=1,v1=bad"}
    )
    # Past the size limit: refused by the signature check, not by size.
    assert response.status_code != 413, response.text


async def test_a_json_body_within_the_limit_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(JSON_ROUTE, json={"email": "a@example.com", "password": "x"})
    assert response.status_code != 413, response.text


def test_every_operation_that_takes_a_body_declares_the_413() -> None:
    operations = [
        (method.upper(), path, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert len(operations) > 10  # the walk found the API's bodies, the webhook's included
    undeclared = [f"{m} {p}" for m, p, op in operations if "413" not in op["responses"]]
    assert undeclared == []
