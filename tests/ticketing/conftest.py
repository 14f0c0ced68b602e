"""Fixtures and helpers of the ticketing tests: events to buy from, purchases, what they left."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import admitone.wiring  # noqa: F401 - job handlers, cron entries, topics, the order checker
from admitone.accounts.models import User
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.events import deletion
from admitone.events import service as events_service
from admitone.events.schemas import EventCreate, TierCreate
from admitone.notifications.models import EmailLog
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.models import Order, Ticket
from tests.conftest import RELAXED_RATE_LIMITS
from tests.support.users import Signed

EVENT_DATE = datetime(2026, 7, 15, 18, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Most tests buy many times from one client; the strict limit has a test of its own.
    return settings.model_copy(update={**RELAXED_RATE_LIMITS, "fake_gateway_latency_ms": 0.0})


@pytest.fixture(autouse=True)
def order_checker_only_ours(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(deletion, "_order_checkers", [ticketing_service.event_has_paid_orders])
    yield


@pytest.fixture(name="gateway")
def gateway_fixture(runtime: Runtime) -> FakeGateway:
    assert isinstance(runtime.gateway, FakeGateway)
    return runtime.gateway


@pytest.fixture(name="organizer")
def organizer_fixture(organizer: Signed) -> User:
    """Ticketing's tests make their events through the service: the organizer's user is enough."""
    return organizer.user


@pytest.fixture
def buyer(customer: Signed) -> Signed:
    return customer


@dataclass
class EventInfo:
    id: uuid.UUID
    tier_ids: list[uuid.UUID]
    organizer_id: uuid.UUID


async def make_event(
    runtime: Runtime,
    organizer: User,
    *,
    tiers: list[tuple[str, str, int]] | None = None,
    max_attendees: int | None = None,
    publish: bool = True,
    **tier_options: Any,
) -> EventInfo:
    """An event with ``tiers`` as (name, price, capacity); one 50.00 tier of 100 by default."""
    actor = Actor(organizer.id, organizer.role)
    specs = tiers or [("General admission", "50.00", 100)]
    data = EventCreate(
        name="Concert",
        venue="Stadium",
        date=EVENT_DATE,
        max_attendees=max_attendees,
        tiers=[
            TierCreate(name=name, price=price, capacity=capacity, **tier_options)
            for name, price, capacity in specs
        ],
    )
    async with runtime.unit_of_work() as uow:
        detail = await events_service.create_event(uow, actor, data)
        if publish:
            await events_service.publish_event(uow, actor, detail.event.id)
    by_position = sorted(detail.tiers, key=lambda t: t.position)
    return EventInfo(detail.event.id, [t.id for t in by_position], organizer.id)


def order_body(
    quantity: int | None = 2,
    *,
    email: str = "john@example.com",
    name: str = "John Doe",
    key: str | None = None,
    items: list[tuple[uuid.UUID, int]] | None = None,
    payment_method: str | None = None,
) -> dict[str, Any]:
    """Seed 001's body (or seed 002's with ``items``)."""
    order: dict[str, Any] = {"customer_email": email, "customer_name": name}
    if items is not None:
        order["items"] = [{"tier_id": str(t), "quantity": q} for t, q in items]
    else:
        order["quantity"] = quantity
    if key is not None:
        order["idempotency_key"] = key
    if payment_method is not None:
        order["payment_method"] = payment_method
    return {"order": order}


async def buy(
    client: httpx.AsyncClient,
    event_id: uuid.UUID,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/events/{event_id}/purchase", json=body or order_body(), headers=headers
    )


async def orders_of(runtime: Runtime, event_id: uuid.UUID) -> list[Order]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(Order).where(Order.event_id == event_id).order_by(Order.created_at)
        )
        return list(rows)


async def load_order(runtime: Runtime, order_id: uuid.UUID | str) -> Order:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await ticketing_service.order_for_viewer(
            uow, uuid.UUID(str(order_id)), ticketing_service.Viewer(is_staff=True)
        )


async def ticket_count(runtime: Runtime, order_id: uuid.UUID | str, status: str = "valid") -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.order_id == uuid.UUID(str(order_id)), Ticket.status == status)
            )
            or 0
        )


async def emails_for(runtime: Runtime, order_id: uuid.UUID | str) -> list[EmailLog]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(EmailLog).where(
                EmailLog.related_type == "order", EmailLog.related_id == uuid.UUID(str(order_id))
            )
        )
        return list(rows)
