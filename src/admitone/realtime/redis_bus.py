"""The bus of many processes: Redis pub/sub, one listening connection per process.

The listener pattern-subscribes to every channel under the prefix, so each process sees every
message: its local subscribers get theirs, and its replay buffer is complete, so a client can
resume with ``Last-Event-ID`` on whichever process the load balancer sends it to next.

Redis pub/sub is at most once. When the listening connection comes back after a drop (our own
reconnect loop, or redis-py's transparent one, both end in a fresh ``psubscribe``
confirmation), subscribers are told to reset, since messages published meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from admitone.realtime import codec
from admitone.realtime.fanout import Fanout, FanoutSubscriptions

log = structlog.get_logger(__name__)

RECONNECTS = Counter(
    "admitone_realtime_bus_reconnects_total", "Times the Redis bus listener reconnected"
)
_LOST = (RedisConnectionError, RedisTimeoutError, OSError)


class SilentConnection(RedisConnectionError):
    """No reply, not even to a PING: the connection is half-open."""


class RedisBus(FanoutSubscriptions):
    def __init__(
        self,
        url: str,
        *,
        channel_prefix: str = "admitone:",
        replay_size: int = 100,
        queue_size: int = 100,
        client_name: str | None = None,
        ping_interval: float = 10.0,
        reconnect_base: float = 0.1,
        reconnect_cap: float = 5.0,
        startup_timeout: float = 5.0,
    ) -> None:
        self.channel_prefix = channel_prefix
        self.client_name = client_name or f"admitone-bus-{os.getpid()}"
        self.fanout = Fanout(replay_size=replay_size, queue_size=queue_size)
        self._url = url
        self._ping_interval = ping_interval
        self._reconnect_base = reconnect_base
        self._reconnect_cap = reconnect_cap
        self._startup_timeout = startup_timeout
        # A publish runs after commit, inside the request: a dead Redis must fail it fast.
        self._publisher = Redis.from_url(
            url,
            socket_connect_timeout=2.0,
            socket_timeout=2.0,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        )
        self._listener = Redis.from_url(
            url,
            client_name=self.client_name,
            socket_connect_timeout=2.0,
            socket_keepalive=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
        )
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._ever_subscribed = False
        self._failures = 0

    @property
    def subscribed(self) -> bool:
        """True while the listening connection is subscribed."""
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        await self._subscribed.wait()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._listen_forever(), name="admitone-redis-bus")
        try:
            # Serve only once subscribed, so a message published right after start is not
            # missed; an unreachable Redis delays start, but the loop keeps trying behind it.
            async with asyncio.timeout(self._startup_timeout):
                await self.wait_subscribed()
        except TimeoutError:
            log.warning("redis_bus_not_subscribed_yet", timeout=self._startup_timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.fanout.close()
        await self._publisher.aclose()
        await self._listener.aclose()

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        # Not delivered locally here: it comes back through the listener like everyone
        # else's, so every process sees one order and nothing twice.
        await self._publisher.publish(self.channel_prefix + topic, codec.encode(message))

    async def _listen_forever(self) -> None:
        while True:
            pubsub = self._listener.pubsub()
            try:
                await pubsub.psubscribe(self.channel_prefix + "*")
                await self._pump(pubsub)
            except Exception as exc:  # the listener must outlive any one failure
                self._subscribed.clear()
                self._failures += 1
                delay = self._backoff(self._failures)
                if isinstance(exc, _LOST):
                    log.warning("redis_bus_disconnected", error=repr(exc), retry_in=round(delay, 3))
                else:
                    log.exception("redis_bus_listener_failed", retry_in=round(delay, 3))
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _pump(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = pinged = loop.time()
        while True:
            raw = await pubsub.get_message(timeout=min(1.0, self._ping_interval))
            now = loop.time()
            if raw is None:
                if now - last_heard > 3 * self._ping_interval:
                    raise SilentConnection("no reply from Redis")
                if now - last_heard > self._ping_interval and now - pinged > self._ping_interval:
                    pinged = now
                    await pubsub.ping()
                continue
            last_heard = now
            kind = raw.get("type")
            if kind == "psubscribe":
                self._on_subscribed()
            elif kind == "pmessage":
                self._on_message(raw["channel"], raw["data"])

    def _on_subscribed(self) -> None:
        if self._ever_subscribed:
            RECONNECTS.inc()
            log.info("redis_bus_resubscribed")
            self.fanout.gap("bus_reconnected")
        self._ever_subscribed = True
        self._failures = 0
        self._subscribed.set()

    def _on_message(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        try:
            message = codec.decode(data)
        except ValueError:
            log.warning("redis_bus_bad_message", channel=name)
            return
        self.fanout.deliver(name.removeprefix(self.channel_prefix), message)

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._reconnect_cap, self._reconnect_base * 2.0 ** min(failures, 16))
        # Jitter spreads the reconnects of many processes after a Redis restart.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not cryptographic
