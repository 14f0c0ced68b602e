"""How many orders a client address may leave pending for one event, and the seats they hold.

A guest can rotate made-up emails, and each pending order holds its seats until the payment
timeout: without a cap, one address could hold a good part of an on-sale. Only orders still
pending when their purchase answers are counted: an order paid within its request (the common
case) costs one look-up before the purchase and nothing after. An order left pending is
recorded with the time it expires, so it stops counting by itself when its payment window
closes, and earlier when it is paid (through the API or Stripe's webhook) or cancelled through
the API: from another address maybe, hence the record of where each order is counted.

Memory in one process, Redis (one Lua script per decision) shared by many, like the rate
limits; a store outage lets purchases through rather than closing the box office.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog
from redis.asyncio import Redis

from admitone.config import Settings
from admitone.core.clock import Clock

log = structlog.get_logger(__name__)
_STORE_RETRY_SECONDS = 5.0

Cap = Literal["orders_per_address", "seats_per_address"]


@dataclass(frozen=True, slots=True)
class Refusal:
    cap: Cap
    limit: int
    retry_after: int  # seconds until the first of the address's pending orders expires


@dataclass(frozen=True, slots=True)
class _Caps:
    orders: int
    seats: int
    ttl_ms: int  # how long an order stays pending at most: the payment timeout


class _Store(Protocol):
    async def check(self, key: str, now_ms: int, seats: int) -> tuple[int, int]: ...

    async def add(
        self, key: str, now_ms: int, order_id: uuid.UUID, seats: int
    ) -> tuple[int, int]: ...

    async def remove(self, order_id: uuid.UUID) -> None: ...

    async def aclose(self) -> None: ...


# Both scripts answer {0} when it fits, {1, oldest expiry} over the order cap, {2, ...} over
# the seat cap. Members are "<order id>:<seats>", scored by when the order expires.
_COUNT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local seats = 0
for i = 1, #held, 2 do seats = seats + tonumber(string.match(held[i], ':(%d+)$')) end
local oldest = held[2] or '0'
if #held / 2 >= tonumber(ARGV[3]) then return {1, oldest} end
if seats + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return {2, oldest} end
"""
_CHECK = _COUNT + "return {0, '0'}"
_ADD = (
    _COUNT
    + """
redis.call('ZADD', KEYS[1], ARGV[6], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SET', KEYS[2], KEYS[1] .. '\\n' .. ARGV[5], 'PX', ARGV[7])
return {0, '0'}
"""
)
_REMOVE = """
local where = redis.call('GET', KEYS[1])
if not where then return 0 end
local key, member = string.match(where, '^(.*)\\n(.*)$')
redis.call('ZREM', key, member)
return redis.call('DEL', KEYS[1])
"""


class _RedisStore:
    def __init__(self, url: str, prefix: str, caps: _Caps, timeout: float) -> None:
        self._caps = caps
        self._redis = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        self._prefix = prefix
        self._check = self._redis.register_script(_CHECK)
        self._add = self._redis.register_script(_ADD)
        self._remove = self._redis.register_script(_REMOVE)

    def _where(self, order_id: uuid.UUID) -> str:
        return f"{self._prefix}:pending-order:{order_id}"

    async def check(self, key: str, now_ms: int, seats: int) -> tuple[int, int]:
        caps = self._caps
        answer = await self._check(keys=[key], args=[now_ms, seats, caps.orders, caps.seats])
        return int(answer[0]), int(float(answer[1]))

    async def add(self, key: str, now_ms: int, order_id: uuid.UUID, seats: int) -> tuple[int, int]:
        caps = self._caps
        answer = await self._add(
            keys=[key, self._where(order_id)],
            args=[
                now_ms, seats, caps.orders, caps.seats, f"{order_id}:{seats}",
                now_ms + caps.ttl_ms, caps.ttl_ms,
            ],
        )  # fmt: skip
        return int(answer[0]), int(float(answer[1]))

    async def remove(self, order_id: uuid.UUID) -> None:
        await self._remove(keys=[self._where(order_id)])

    async def aclose(self) -> None:
        await self._redis.aclose()


class _MemoryStore:
    def __init__(self, caps: _Caps) -> None:
        self._caps = caps
        self._held: dict[str, dict[uuid.UUID, tuple[int, int]]] = {}  # order -> (seats, expiry)
        self._where: dict[uuid.UUID, str] = {}

    def _count(self, key: str, now_ms: int, seats: int) -> tuple[int, int]:
        held = self._held.get(key, {})
        for order_id in [o for o, (_, expires) in held.items() if expires <= now_ms]:
            del held[order_id]
            self._where.pop(order_id, None)
        oldest = min((expires for _, expires in held.values()), default=0)
        if len(held) >= self._caps.orders:
            return 1, oldest
        if sum(n for n, _ in held.values()) + seats > self._caps.seats:
            return 2, oldest
        return 0, 0

    async def check(self, key: str, now_ms: int, seats: int) -> tuple[int, int]:
        return self._count(key, now_ms, seats)

    async def add(self, key: str, now_ms: int, order_id: uuid.UUID, seats: int) -> tuple[int, int]:
        verdict = self._count(key, now_ms, seats)
        if verdict[0] == 0:
            self._held.setdefault(key, {})[order_id] = (seats, now_ms + self._caps.ttl_ms)
            self._where[order_id] = key
        return verdict

    async def remove(self, order_id: uuid.UUID) -> None:
        key = self._where.pop(order_id, None)
        if key is not None:
            held = self._held.get(key, {})
            held.pop(order_id, None)
            if not held:
                self._held.pop(key, None)

    async def aclose(self) -> None:
        return None


class PendingHolds:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.enabled = settings.rate_limits_enabled
        self.max_orders = settings.max_pending_orders_per_address
        self.max_seats = settings.max_pending_seats_per_address
        caps = _Caps(self.max_orders, self.max_seats, settings.payment_timeout_minutes * 60_000)
        self._prefix = f"{settings.rate_limit_key_prefix}:pending"
        self._clock = clock
        self._store: _Store = (
            _RedisStore(
                settings.redis_url,
                settings.rate_limit_key_prefix,
                caps,
                settings.redis_timeout_seconds,
            )
            if settings.redis_url
            else _MemoryStore(caps)
        )
        self._store_down_until = 0.0

    def _key(self, event_id: uuid.UUID, address: str) -> str:
        return f"{self._prefix}:{event_id}:{address}"

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def check(self, address: str, event_id: uuid.UUID, seats: int) -> Refusal | None:
        """Whether ``address`` may place one more order of ``seats`` for the event now."""
        if not self._available():
            return None
        now = self._now_ms()
        key = self._key(event_id, address)
        try:
            verdict = await self._store.check(key, now, seats)
        except Exception as exc:
            self._store_failed(exc)
            return None
        return self._refusal(now, verdict)

    async def hold(
        self, address: str, event_id: uuid.UUID, order_id: uuid.UUID, seats: int
    ) -> Refusal | None:
        """Count a new order left pending, unless that takes the address past a cap (another
        purchase of it got in first since ``check``): then nothing is counted."""
        if not self._available():
            return None
        now = self._now_ms()
        key = self._key(event_id, address)
        try:
            verdict = await self._store.add(key, now, order_id, seats)
        except Exception as exc:
            self._store_failed(exc)
            return None
        return self._refusal(now, verdict)

    async def release(self, order_id: uuid.UUID) -> None:
        """The order is no longer pending (paid, cancelled): it stops counting."""
        if not self._available():
            return
        try:
            await self._store.remove(order_id)
        except Exception as exc:
            self._store_failed(exc)

    async def aclose(self) -> None:
        await self._store.aclose()

    def _available(self) -> bool:
        return self.enabled and time.monotonic() >= self._store_down_until

    def _store_failed(self, exc: Exception) -> None:
        # As with the rate limits: leave a failing store alone for a while, and let purchases
        # through meanwhile.
        self._store_down_until = time.monotonic() + _STORE_RETRY_SECONDS
        log.warning("pending_holds_store_unavailable", error=type(exc).__name__)

    def _refusal(self, now_ms: int, verdict: tuple[int, int]) -> Refusal | None:
        outcome, oldest = verdict
        if outcome == 0:
            return None
        retry_after = max(1, math.ceil((oldest - now_ms) / 1000)) if oldest else 1
        if outcome == 1:
            return Refusal("orders_per_address", self.max_orders, retry_after)
        return Refusal("seats_per_address", self.max_seats, retry_after)
