"""The process's long-lived collaborators, built once from settings and shared by the HTTP app,
the worker and the CLI (the composition root)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from admitone.config import Settings
from admitone.core.clock import Clock, SystemClock
from admitone.core.db import Database, UnitOfWork, unit_of_work
from admitone.core.security import limit_concurrent_hashing
from admitone.notifications.senders import EmailSender, build_email_sender
from admitone.payments.factory import build_gateway
from admitone.payments.gateway import PaymentGateway
from admitone.realtime.bus import Bus, build_bus
from admitone.ticketing.purchase.batching import PurchaseGroups


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock
    bus: Bus
    email_sender: EmailSender
    gateway: PaymentGateway
    redis: Redis | None = None
    # One per process: it groups the purchases arriving at this process concurrently.
    purchases: PurchaseGroups = field(init=False)

    def __post_init__(self) -> None:
        self.purchases = PurchaseGroups(self.unit_of_work, self.settings)

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        *,
        email_sender: EmailSender | None = None,
        gateway: PaymentGateway | None = None,
    ) -> Runtime:
        limit_concurrent_hashing(settings.password_hashing_concurrency)
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        return cls(
            settings=settings,
            database=database,
            clock=clock or SystemClock(),
            bus=build_bus(settings),
            email_sender=email_sender or build_email_sender(settings),
            gateway=gateway or build_gateway(settings),
            redis=(
                Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
                if settings.redis_url
                else None
            ),
        )

    def unit_of_work(self, *, readonly: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(self.database, self.clock, self.bus, readonly=readonly)

    async def start(self) -> None:
        await self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
        # Gateways that own an HTTP client (Stripe) close it; the in-memory fake has nothing.
        close_gateway = getattr(self.gateway, "aclose", None)
        if close_gateway is not None:
            await close_gateway()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()
