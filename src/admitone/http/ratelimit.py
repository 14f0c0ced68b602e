"""Rate limits with ``limits`` (async): memory in one process, Redis shared by many."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from admitone.config import Settings

log = structlog.get_logger(__name__)
_STORE_RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    @property
    def retry_after(self) -> int:
        return max(1, int(self.reset_at - time.time() + 0.999))


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.storage: Storage
        if settings.redis_url:
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=settings.rate_limit_key_prefix,
                socket_connect_timeout=settings.redis_timeout_seconds,
                socket_timeout=settings.redis_timeout_seconds,
            )
        else:
            self.storage = MemoryStorage()
        self._strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._store_down_until = 0.0
        self.default = parse(settings.rate_limit_default)
        self.strict = parse(settings.rate_limit_strict)
        self.support = parse(settings.rate_limit_support)
        self.login_per_account = parse(settings.rate_limit_login_per_account)
        self.login_per_ip = parse(settings.rate_limit_login_per_ip)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Verdict:
        now = time.monotonic()
        if not self.enabled or now < self._store_down_until:
            return Verdict(True, item.amount, item.amount, time.time())
        try:
            allowed = await self._strategy.hit(item, *identifiers)
            stats = await self._strategy.get_window_stats(item, *identifiers)
        except Exception as exc:
            # A rate-limit store outage must not take the box office down with it: let requests
            # through, and leave the store alone for a while instead of waiting on it each time.
            self._store_down_until = now + _STORE_RETRY_SECONDS
            log.warning("rate_limit_store_unavailable", error=type(exc).__name__)
            return Verdict(True, item.amount, item.amount, time.time())
        return Verdict(allowed, item.amount, max(0, stats.remaining), stats.reset_time)

    async def reset(self) -> None:
        await self.storage.reset()
