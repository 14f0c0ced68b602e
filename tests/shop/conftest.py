"""Fixtures of the shop tests: an organizer with a published event, a second organizer, a
customer and staff, signed in; helpers to make categories, products and carts over the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import admitone.wiring  # noqa: F401 - topics, as in a real process
from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.events import service as events_service
from admitone.events.schemas import EventCreate, TierCreate
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS
from tests.support.users import Signed, sign_in

PRODUCTS = "/api/shop/products"
CATEGORIES = "/api/shop/categories"
CARTS = "/api/carts"
EVENT_DATE = datetime(2026, 7, 15, 18, 0, tzinfo=UTC)
SIZES = {
    "name": "size",
    "values": [{"value": "S"}, {"value": "M"}, {"value": "XL", "price_modifier": "2.00"}],
}
COLOURS = {"name": "colour", "values": [{"value": "red"}, {"value": "blue"}]}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=RELAXED_RATE_LIMITS)


@dataclass
class Shop:
    organizer: Signed
    rival: Signed
    customer: Signed
    admin: Signed
    event_id: uuid.UUID
    tier_ids: list[uuid.UUID]


async def make_event(
    runtime: Runtime, organizer: User, *, publish: bool = True, currency: str = "USD"
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    actor = Actor(organizer.id, organizer.role)
    data = EventCreate(
        name="Concert",
        venue="Stadium",
        date=EVENT_DATE,
        currency=currency,
        tiers=[
            TierCreate(name="General admission", price="50.00", capacity=100),
            TierCreate(name="Balcony", price="30.00", capacity=20),
        ],
    )
    async with runtime.unit_of_work() as uow:
        detail = await events_service.create_event(uow, actor, data)
        if publish:
            await events_service.publish_event(uow, actor, detail.event.id)
    return detail.event.id, [t.id for t in detail.tiers]


@pytest.fixture
async def shop(client: httpx.AsyncClient, runtime: Runtime) -> Shop:
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    event_id, tier_ids = await make_event(runtime, organizer.user)
    return Shop(
        organizer=organizer,
        rival=await sign_in(client, runtime, Role.ORGANIZER),
        customer=await sign_in(client, runtime, Role.CUSTOMER),
        admin=await sign_in(client, runtime, Role.ADMIN),
        event_id=event_id,
        tier_ids=tier_ids,
    )


def product_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Tour shirt", "price": "25.00", **changes}
    return {k: v for k, v in body.items() if v is not None}


async def create_product(client: httpx.AsyncClient, who: Signed, **changes: Any) -> dict[str, Any]:
    response = await client.post(PRODUCTS, json=product_body(**changes), headers=who.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def shirt(client: httpx.AsyncClient, who: Signed, **changes: Any) -> dict[str, Any]:
    """A shirt in sizes and colours, stock per combination: 5 red M, 2 blue XL."""
    stock = [
        {"options": {"size": "M", "colour": "red"}, "quantity": 5},
        {"options": {"colour": "blue", "size": "XL"}, "quantity": 2},
    ]
    fields: dict[str, Any] = {
        "options": [SIZES, COLOURS],
        "stock_tracking": "options",
        "stock_by_options": stock,
        **changes,
    }
    return await create_product(client, who, **fields)


async def guest_cart(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    response = await client.post(CARTS)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token"]
    return body["id"], {"X-Cart-Token": body["token"]}


async def add(
    client: httpx.AsyncClient, cart_id: str, headers: dict[str, str], **item: Any
) -> httpx.Response:
    return await client.post(f"{CARTS}/{cart_id}/items", json=item, headers=headers)


@pytest.fixture
def published(runtime: Runtime) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every pub/sub message the runtime's bus sends, as (topic, message)."""
    sent: list[tuple[str, dict[str, Any]]] = []
    original = runtime.bus.publish

    async def spy(topic: str, message: Any) -> None:
        sent.append((topic, dict(message)))
        await original(topic, message)

    runtime.bus.publish = spy  # type: ignore[method-assign]
    yield sent
    runtime.bus.publish = original  # type: ignore[method-assign]
