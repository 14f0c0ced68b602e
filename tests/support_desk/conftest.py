"""Fixtures of the support desk tests: a customer with a paid order, a second customer, staff,
and the event's organizer; helpers to open requests and read what was emailed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import admitone.wiring  # noqa: F401 - job handlers and topics, as in a real process
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.notifications.models import EmailLog
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS
from tests.support.sse import streaming_client
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import EventInfo, make_event, order_body

REQUESTS = "/api/support/requests"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Most tests open many requests from one client; the support limit has a test of its own.
    return settings.model_copy(
        update={**RELAXED_RATE_LIMITS, "rate_limit_support": "100000/minute"}
    )


@dataclass
class Desk:
    customer: Signed
    stranger: Signed
    admin: Signed
    organizer: Signed
    event: EventInfo
    order: dict[str, Any]


async def buy(
    client: httpx.AsyncClient, event_id: uuid.UUID, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/events/{event_id}/purchase", json=order_body(1), headers=headers or {}
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


@pytest.fixture
async def desk(client: httpx.AsyncClient, runtime: Runtime) -> Desk:
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    event = await make_event(runtime, organizer.user)
    customer = await sign_in(client, runtime, Role.CUSTOMER)
    order = await buy(client, event.id, customer.headers)
    return Desk(
        customer=customer,
        stranger=await sign_in(client, runtime, Role.CUSTOMER),
        admin=await sign_in(client, runtime, Role.ADMIN),
        organizer=organizer,
        event=event,
        order=order,
    )


async def open_request(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"subject": "Where are my tickets?", "body": "They never arrived.", **fields}
    response = await client.post(REQUESTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def comment(
    client: httpx.AsyncClient,
    request_id: str,
    headers: dict[str, str],
    body: str,
    *,
    internal: bool = False,
) -> dict[str, Any]:
    response = await client.post(
        f"{REQUESTS}/{request_id}/comments",
        json={"body": body, "internal": internal},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def patch(
    client: httpx.AsyncClient, request_id: str, headers: dict[str, str], **changes: Any
) -> httpx.Response:
    return await client.patch(f"{REQUESTS}/{request_id}", json=changes, headers=headers)


async def emails_about(runtime: Runtime, request_id: str) -> list[EmailLog]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(EmailLog)
            .where(
                EmailLog.related_type == "support_request",
                EmailLog.related_id == uuid.UUID(request_id),
            )
            .options(selectinload(EmailLog.payload))
            .order_by(EmailLog.created_at)
        )
        return list(rows)


@pytest.fixture
async def streamer(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that reads event streams as they come (httpx's own transport waits for the end)."""
    async with streaming_client(app) as client:
        yield client
