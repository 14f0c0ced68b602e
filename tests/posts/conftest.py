"""Fixtures of the posts and coupons tests: organizers with a published event, a customer, and
helpers to make coupons and purchases over the API and to read what they left."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - job handlers, topics, deletion steps, as in a process
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.payments.fake import FakeGateway
from admitone.posts.models import Coupon, CouponRedemption
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import EventInfo, make_event

COUPONS = "/api/coupons"
POSTS = "/api/posts"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**RELAXED_RATE_LIMITS, "fake_gateway_latency_ms": 0.0})


@dataclass
class Seller:
    organizer: Signed
    rival: Signed
    customer: Signed
    event: EventInfo  # tiers A 33.33 (100 seats) and B 20.00 (100 seats), USD


@pytest.fixture
async def seller(client: httpx.AsyncClient, runtime: Runtime) -> Seller:
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    event = await make_event(
        runtime, organizer.user, tiers=[("A", "33.33", 100), ("B", "20.00", 100)]
    )
    return Seller(
        organizer=organizer,
        rival=await sign_in(client, runtime, Role.ORGANIZER),
        customer=await sign_in(client, runtime, Role.CUSTOMER),
        event=event,
    )


def coupon_body(code: str = "SUMMER", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "kind": "percent", "percent_off": "12.5"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def create_coupon(
    client: httpx.AsyncClient, who: Signed, code: str = "SUMMER", **changes: Any
) -> dict[str, Any]:
    response = await client.post(COUPONS, json=coupon_body(code, **changes), headers=who.headers)
    assert response.status_code == 201, response.text
    coupon: dict[str, Any] = response.json()
    return coupon


def purchase_body(
    items: list[tuple[uuid.UUID, int]],
    *,
    coupon: str | None = "SUMMER",
    email: str = "john@example.com",
    payment_method: str | None = None,
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "customer_email": email,
        "customer_name": "John Doe",
        "items": [{"tier_id": str(t), "quantity": q} for t, q in items],
    }
    if coupon is not None:
        order["coupon_code"] = coupon
    if payment_method is not None:
        order["payment_method"] = payment_method
    return {"order": order}


async def buy(
    client: httpx.AsyncClient,
    event_id: uuid.UUID,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(f"/api/events/{event_id}/purchase", json=body, headers=headers)


async def stored_coupon(runtime: Runtime, coupon_id: str) -> Coupon:
    async with runtime.unit_of_work(readonly=True) as uow:
        coupon = await uow.session.get(Coupon, uuid.UUID(coupon_id))
        assert coupon is not None
        return coupon


async def redemptions(runtime: Runtime, coupon_id: str) -> list[CouponRedemption]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(CouponRedemption)
            .where(CouponRedemption.coupon_id == uuid.UUID(coupon_id))
            .order_by(CouponRedemption.created_at)
        )
        return list(rows)


@pytest.fixture(name="gateway")
def gateway_fixture(runtime: Runtime) -> FakeGateway:
    assert isinstance(runtime.gateway, FakeGateway)
    return runtime.gateway
