"""A deletion meeting a purchase that holds a share of the account row (its new order's foreign
key) while it waits for an order row the deletion took: PostgreSQL alone has row locks, so the
cycle exists only there. The deletion lets go and tries again, and neither side fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, update

import admitone.wiring  # noqa: F401 - every domain's claim, hooks and job handlers
from admitone.accounts import deletion
from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.config import Settings
from admitone.core.actor import Actor
from admitone.core.clock import FrozenClock
from admitone.core.ids import new_uuid, sha256_hex, short_reference
from admitone.runtime import Runtime
from admitone.ticketing.erasure import DELETED_EMAIL
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.models import Order, OrderStatus
from tests.conftest import auth_headers, create_user, make_client
from tests.ticketing.conftest import make_event, order_body


@pytest.fixture
def pg_settings(pg_settings: Settings) -> Settings:
    # The purchase leaves its order pending: the buyer pays later.
    return pg_settings.model_copy(update={"fake_gateway_default_payment_method": None})


@pytest.fixture
def pg_clock(clock: FrozenClock) -> FrozenClock:
    return clock


@pytest.fixture
async def pg_client(pg_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pg_runtime)
    async with app.router.lifespan_context(app), make_client(app) as client:
        yield client


async def test_a_deletion_lets_a_purchase_waiting_on_it_commit_and_then_anonymises_its_order(
    pg_runtime: Runtime, pg_client: httpx.AsyncClient
) -> None:
    runtime = pg_runtime
    organizer = await create_user(runtime, Role.ORGANIZER)
    admin = await create_user(runtime, Role.ADMIN)
    buyer, headers = await auth_headers(pg_client, runtime)
    event = await make_event(runtime, organizer)
    body = order_body(1, email=buyer.email, name=buyer.name)
    placed = await pg_client.post(f"/api/events/{event.id}/purchase", json=body, headers=headers)
    assert (placed.status_code, placed.json()["status"]) == (201, "pending"), placed.text
    pending_id = placed.json()["id"]

    async with runtime.unit_of_work() as purchase:
        # The purchase's new order: its foreign key shares the account row until it commits.
        now = purchase.clock.now()
        purchase.session.add(
            Order(
                id=new_uuid(),
                reference=short_reference(8),
                event_id=event.id,
                buyer_user_id=buyer.id,
                buyer_key=buyer_key(buyer.id, buyer.email) + ":second",
                customer_email=buyer.email,
                customer_name=buyer.name,
                status=OrderStatus.PAID.value,
                quantity=1,
                total_amount=5000,
                currency="EUR",
                access_token_hash=sha256_hex("second"),
                expires_at=now,
                paid_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        await purchase.flush()

        async def delete() -> None:
            async with runtime.unit_of_work() as uow:
                await deletion.delete_by_staff(uow, Actor(admin.id, Role.ADMIN), buyer.id)

        deleting = asyncio.create_task(delete())
        await asyncio.sleep(0.2)  # the deletion has cancelled (locked) the pending order
        # The purchase now settles that order: it waits for the deletion, which waits for it.
        await purchase.session.execute(
            update(Order)
            .where(Order.id == pending_id, Order.status == OrderStatus.PENDING.value)
            .values(status=OrderStatus.PAID.value, paid_at=now)
        )
    await asyncio.wait_for(deleting, timeout=30)

    async with runtime.unit_of_work(readonly=True) as uow:
        orders = (await uow.session.scalars(select(Order).where(Order.event_id == event.id))).all()
    assert len(orders) == 2
    assert all(o.buyer_user_id is None and o.customer_email == DELETED_EMAIL for o in orders)
    assert {o.status for o in orders} == {OrderStatus.PAID.value}
