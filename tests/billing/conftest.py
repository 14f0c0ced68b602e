"""Fixtures of the billing tests: an organizer's event, a buyer with a paid order, a stranger
and staff; helpers to buy, ask for invoices and read what was published. After every test,
each activity entry it wrote is scanned for the personal data the test used."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job handlers, topics and hooks, as in a real process
from admitone.accounts.models import Role
from admitone.activity.models import ActivityEntry
from admitone.config import Settings
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from tests.conftest import RELAXED_RATE_LIMITS
from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures of the tests on Stripe
    fake_stripe,
    fake_stripe_server,
    stripe_gateway,
)
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import EventInfo, make_event, order_body

PROFILES = "/api/me/billing-profiles"
SETTINGS = "/api/me/billing-settings"
INVOICES = "/api/invoices"

# The personal data the billing tests send: none of it may reach an activity entry.
PROFILE = {
    "name": "Ada Lovelace",
    "company": "Analytical Engines GmbH",
    "address_line1": "Unter den Linden 7",
    "city": "Berlin",
    "postcode": "10117",
    "country": "DE",
    "vat_id": "DE 123 456 789",
}
BUYER_NAME = "Charles Babbage"
BUYER_EMAIL = "charles@example.com"
PII = [
    "Ada Lovelace",
    "Analytical Engines",
    "Unter den Linden",
    "Berlin",
    "10117",
    "DE123456789",
    BUYER_NAME,
    BUYER_EMAIL,
    "example.com",
    "@",
]
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**RELAXED_RATE_LIMITS, "fake_gateway_latency_ms": 0.0})


@dataclass
class Shop:
    organizer: Signed
    buyer: Signed
    stranger: Signed
    admin: Signed
    event: EventInfo


@pytest.fixture
async def shop(client: httpx.AsyncClient, runtime: Runtime) -> Shop:
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    return Shop(
        organizer=organizer,
        buyer=await sign_in(client, runtime, Role.CUSTOMER),
        stranger=await sign_in(client, runtime, Role.CUSTOMER),
        admin=await sign_in(client, runtime, Role.ADMIN),
        event=await make_event(runtime, organizer.user),
    )


async def buy(
    client: httpx.AsyncClient,
    event_id: uuid.UUID,
    headers: dict[str, str] | None = None,
    *,
    quantity: int = 2,
    payment_method: str | None = None,
    expect: int = 201,
    email: str = BUYER_EMAIL,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/events/{event_id}/purchase",
        json=order_body(quantity, email=email, name=BUYER_NAME, payment_method=payment_method),
        headers=headers or {},
    )
    assert response.status_code == expect, response.text
    order: dict[str, Any] = response.json()
    return order


async def ask_invoice(
    client: httpx.AsyncClient,
    order_id: str,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/orders/{order_id}/invoice",
        json=body,
        headers=headers or {},
        params={"token": token} if token else None,
    )


def details(**changes: Any) -> dict[str, Any]:
    """``PROFILE`` with ``changes``; a field changed to None is left out."""
    return {k: v for k, v in {**PROFILE, **changes}.items() if v is not None}


async def make_profile(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(PROFILES, json=details(**fields), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def organizer(client: httpx.AsyncClient, runtime: Runtime) -> Signed:
    return await sign_in(client, runtime, Role.ORGANIZER)


@pytest.fixture
async def subscriber(client: httpx.AsyncClient, runtime: Runtime) -> Signed:
    return await sign_in(client, runtime, Role.CUSTOMER)


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


@pytest.fixture(autouse=True)
async def activity_is_free_of_personal_data(runtime: Runtime) -> AsyncIterator[None]:
    """Scans every activity entry each billing test wrote for the personal data it used."""
    yield
    await assert_activity_free_of_personal_data(runtime)


async def assert_activity_free_of_personal_data(runtime: Runtime) -> None:
    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(await uow.session.scalars(select(ActivityEntry)))
    for entry in entries:
        # Without its uuids: a uuid holds "10117", the test postcode, about once in 90,000.
        dumped = UUID_TEXT.sub("", json.dumps([entry.action, entry.resource_type, entry.meta]))
        for text in PII:
            assert text not in dumped, f"{entry.action} carries personal data"


async def refund_part(runtime: Runtime, order_id: str, amount: int, refund_id: str) -> int:
    """A partial refund of a paid order as the gateway reports one made in its dashboard."""
    async with runtime.unit_of_work() as uow:
        payment = await ticketing_service.payment_of(uow, uuid.UUID(order_id))
        assert payment is not None and payment.payment_reference is not None
        return await ticketing_service.record_refund_by_id(
            uow,
            uuid.UUID(order_id),
            charge_id=payment.payment_reference,
            refund_id=refund_id,
            amount=amount,
        )


async def cancel(client: httpx.AsyncClient, order_id: str, headers: dict[str, str]) -> None:
    """The buyer cancels a paid order: it is refunded in full, at once (the fake gateway)."""
    response = await client.post(f"/api/orders/{order_id}/cancel", json={}, headers=headers)
    assert response.status_code == 200, response.text
