"""Group commit: the work of concurrent callers done together, in one transaction.

In an on-sale every purchase takes the same event's counter row, and whoever holds its lock
holds it until the commit. One transaction per purchase queues them all on that row and pays
a round trip per statement each. Here the callers that arrive while a batch is in flight wait
for the next one, which does all their work at once: one lock, one commit, one INSERT per
table. A caller alone is not delayed (its batch starts at once); under load, batches grow by
themselves.

A batch does only what it can do for everyone; for an item it cannot (a refusal, a race to
explain), it answers ``None`` and that caller does its work alone, the ordinary way. A batch
that fails as a whole answers ``None`` to all of its callers. That is safe when its transaction
rolled back; a runner whose commit may have gone through unanswered must find out first (see
``ticketing.purchase.batching``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BatchRunner = Callable[[Sequence[T]], Awaitable[Sequence[R | None]]]


class GroupCommit(Generic[T, R]):
    def __init__(self, name: str, run: BatchRunner[T, R], *, max_batch: int = 64) -> None:
        self.name = name
        self._run = run
        self._max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R | None]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R | None:
        """The batch's answer for ``item``, or None: do it alone."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._draining is None:
            # A context of its own: the batch must not run as the request that happened to
            # start it (its actor, its request id in the logs).
            self._draining = asyncio.create_task(self._drain(), context=contextvars.Context())
        # A caller that gives up (its client went away) does not cancel the batch: the others
        # in it still get their answers, and what it placed expires like any abandoned order.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R | None]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                answers = await self._answers([item for item, _ in batch])
                for (_, future), answer in zip(batch, answers, strict=True):
                    future.set_result(answer)
                batch = []
        finally:
            self._draining = None
            # Cancelled (the process is stopping): the batch in flight and everything still
            # waiting are done alone.
            for _, future in (*batch, *self._waiting):
                if not future.done():
                    future.set_result(None)
            self._waiting.clear()

    async def _answers(self, items: list[T]) -> Sequence[R | None]:
        try:
            answers = await self._run(items)
        except Exception:
            log.exception("group_commit_failed", batch=self.name, size=len(items))
            return [None] * len(items)
        if len(answers) != len(items):
            log.error("group_commit_miscounted", batch=self.name, size=len(items))
            return [None] * len(items)
        return answers
