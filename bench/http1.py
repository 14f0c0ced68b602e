"""A keep-alive HTTP/1.1 client just big enough for the rush.

httpx spent about 2 ms of CPU per request here, on the two cores the server and PostgreSQL
share with the load generator: a tenth of a core at 50 purchases/s, but a whole one at 500. This
client writes the request bytes and reads a ``Content-Length`` answer, nothing else (no chunked
bodies, no redirects, no TLS), for about a tenth of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# What a broken or silent connection raises (IncompleteReadError is an EOFError).
TRANSPORT_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One keep-alive connection, reopened when the server closes it. Not for concurrent use."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(self, path: str, body: object) -> Answer:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        try:
            return await asyncio.wait_for(self._exchange(head + payload), self.timeout)
        except BaseException:
            await self.close()  # whatever was half-read is lost: start afresh next time
            raise

    async def _exchange(self, request: bytes) -> Answer:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await reader.readexactly(length)
        if close:
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
