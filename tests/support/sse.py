"""Test helpers: an httpx transport that streams from an ASGI app, an SSE reader, and a stream
of ``/api/stream`` opened with them.

httpx's own ASGITransport collects the whole body before it returns a response, which never
happens for an endless event stream. This one hands chunks over as the app sends them, through a
one-slot queue so that a client that stops reading pushes back on the app the way a full TCP
socket does, and tells the app ``http.disconnect`` when the response is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

DEFAULT_WAIT = 5.0
# The app answers a stream's headers at once; on a machine busy with other test processes that
# can still take seconds, and waiting longer costs nothing when it comes.
START_WAIT = 30.0


class _Body(httpx.AsyncByteStream):
    def __init__(
        self,
        chunks: asyncio.Queue[bytes | None],
        disconnected: asyncio.Event,
        app: asyncio.Task[None],
    ) -> None:
        self._chunks = chunks
        self._disconnected = disconnected
        self._app = app

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def aclose(self) -> None:
        self._disconnected.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._app), DEFAULT_WAIT)
        if not self._app.done():
            self._app.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._app


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("203.0.113.7", 50000)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)
        disconnected = asyncio.Event()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(message["body"])
                if not message.get("more_body", False):
                    await chunks.put(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise
            finally:
                if not started.done():
                    started.set_exception(RuntimeError("the app sent no response"))
                with contextlib.suppress(asyncio.QueueFull):
                    chunks.put_nowait(None)

        task = asyncio.create_task(run())
        status, headers = await asyncio.wait_for(started, START_WAIT)
        return httpx.Response(status, headers=headers, stream=_Body(chunks, disconnected, task))


def streaming_client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://admitone.test")


@dataclass
class SseEvent:
    event: str | None = None
    id: str | None = None
    data_lines: list[str] = field(default_factory=list)
    comment: str | None = None
    retry: int | None = None

    @property
    def data(self) -> str:
        return "\n".join(self.data_lines)

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


class SseReader:
    """Parses an event stream in a background task, so a bounded wait never breaks the stream."""

    def __init__(self, response: httpx.Response) -> None:
        self._events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._read(response))
        self.ended = False

    async def _read(self, response: httpx.Response) -> None:
        current = SseEvent()
        try:
            async for line in response.aiter_lines():
                if line == "":
                    if current.data_lines or current.event or current.retry is not None:
                        await self._events.put(current)
                    current = SseEvent()
                elif line.startswith(":"):
                    await self._events.put(SseEvent(comment=line[1:].strip()))
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data":
                        current.data_lines.append(value)
                    elif name == "event":
                        current.event = value
                    elif name == "id":
                        current.id = value
                    elif name == "retry":
                        current.retry = int(value)
        finally:
            await self._events.put(None)

    async def next(self, within: float = DEFAULT_WAIT) -> SseEvent | None:
        """The next event or comment; None once the stream has ended."""
        if self.ended:
            return None
        item = await asyncio.wait_for(self._events.get(), within)
        self.ended = item is None
        return item

    async def next_event(
        self, match: Callable[[SseEvent], bool] | None = None, within: float = DEFAULT_WAIT
    ) -> SseEvent:
        """The next event that satisfies ``match`` (by default: the next message)."""
        match = match or is_message

        async def find() -> SseEvent:
            while True:
                item = await self.next(within)
                if item is None:
                    raise AssertionError("the stream ended before a matching event")
                if match(item):
                    return item

        return await asyncio.wait_for(find(), within)

    async def rest(self, within: float = DEFAULT_WAIT) -> list[SseEvent]:
        """Everything until the server ends the stream."""

        async def collect() -> list[SseEvent]:
            items = []
            while (item := await self.next(within)) is not None:
                items.append(item)
            return items

        return await asyncio.wait_for(collect(), within)

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self._task


def is_message(event: SseEvent) -> bool:
    return event.comment is None and event.id is not None


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, topics: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SseReader]:
    """``/api/stream`` for ``topics``, subscribed by the time it is yielded."""
    async with client.stream(
        "GET", "/api/stream", params={"topics": topics}, headers=headers or {}
    ) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        try:
            # The first chunk means the server has subscribed: what is published now arrives.
            first = await reader.next()
            assert first is not None and first.retry is not None
            yield reader
        finally:
            await reader.aclose()
