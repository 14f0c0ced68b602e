"""The process's long-lived collaborators, built once from settings and shared by the HTTP app,
the worker and the CLI."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from admitone.config import Settings
from admitone.core.clock import Clock, SystemClock
from admitone.core.db import Database, Publisher, UnitOfWork, unit_of_work


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    publisher: Publisher | None = None
    redis: Redis | None = None

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        return cls(settings=settings, database=database, clock=clock or SystemClock(), redis=redis)

    def unit_of_work(self, *, readonly: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(self.database, self.clock, self.publisher, readonly=readonly)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()
