"""How many streams a process keeps open: per client and in all. Each open stream holds a
socket, a queue and a task for as long as the client likes, so one client (or a crowd) must not
be able to take them all. Counted per process: a load balancer spreads clients over processes,
and a count shared through Redis would outlive a process that died with streams open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from admitone.realtime.errors import TooManyStreams
from admitone.realtime.sse import RETRY_MILLISECONDS

_RETRY_AFTER_SECONDS = max(1, RETRY_MILLISECONDS // 1000)


class StreamSlots:
    def __init__(self, *, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self._open: Counter[str] = Counter()

    def open_streams(self, client: str | None = None) -> int:
        return self._open[client] if client is not None else self._open.total()

    def take(self, client: str) -> Callable[[], None]:
        """A slot for one more stream of ``client``, or ``TooManyStreams``; call what is
        returned to give it back (more than once is harmless)."""
        if self._open.total() >= self.total:
            raise TooManyStreams("process", self.total, _RETRY_AFTER_SECONDS)
        if self._open[client] >= self.per_client:
            raise TooManyStreams("client", self.per_client, _RETRY_AFTER_SECONDS)
        self._open[client] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._open[client] -= 1
                if self._open[client] <= 0:
                    del self._open[client]

        return release
