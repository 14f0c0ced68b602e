"""A user deleted while they are buying: each purchase either completes and is then anonymised,
or fails cleanly; no seat stays taken by an order that is not live."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

import admitone.wiring  # noqa: F401 - every domain's claim, hooks and job handlers
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.core import personal_data
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid, sha256_hex, short_reference
from admitone.core.personal_data import Erasure, Subject
from admitone.runtime import Runtime
from admitone.ticketing.erasure import DELETED_EMAIL, DELETED_NAME
from admitone.ticketing.idempotency import buyer_key
from admitone.ticketing.models import Order, OrderStatus, Ticket
from tests.conftest import RELAXED_RATE_LIMITS, auth_headers
from tests.support.reads import counters
from tests.ticketing.conftest import EventInfo, make_event, order_body

LIVE = (OrderStatus.PENDING, OrderStatus.PAID)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**RELAXED_RATE_LIMITS, "fake_gateway_latency_ms": 0.0})


@pytest.mark.parametrize("round_", range(3))
async def test_seats_match_live_orders_when_a_buyer_is_deleted_mid_purchase(
    client: httpx.AsyncClient, runtime: Runtime, round_: int
) -> None:
    organizer, _ = await auth_headers(client, runtime, Role.ORGANIZER)
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    buyer, headers = await auth_headers(client, runtime)
    events = [await make_event(runtime, organizer) for _ in range(3)]

    async def purchase(n: int) -> int:
        url = f"/api/events/{events[n].id}/purchase"
        body = order_body(2, email=buyer.email, name=buyer.name)
        return (await client.post(url, json=body, headers=headers)).status_code

    async def delete() -> int:
        return (await client.delete(f"/api/admin/users/{buyer.id}", headers=admin)).status_code

    calls = [purchase(0), purchase(1), purchase(2)]
    calls.insert(round_ + 1, delete())
    statuses = await asyncio.gather(*calls)

    assert statuses.pop(round_ + 1) == 200
    # Refused before (401) or at its order (409: its buyer is gone), or done and anonymised.
    assert all(s in (201, 401, 409) for s in statuses), statuses
    async with runtime.unit_of_work(readonly=True) as uow:
        for event in events:
            live = await uow.session.scalar(
                select(func.coalesce(func.sum(Order.quantity), 0)).where(
                    Order.event_id == event.id, Order.status.in_(LIVE)
                )
            )
            owned = await uow.session.scalar(
                select(func.count()).where(Order.buyer_user_id == buyer.id)
            )
            assert (await counters(runtime, event.id)).event == live
            assert owned == 0


@dataclass
class LateOrder:
    event: EventInfo | None = None
    order_id: uuid.UUID | None = None


@pytest.fixture
def late_order() -> Iterator[LateOrder]:
    """A paid order asking for an invoice, committed after ticketing's erase step ran and before
    the account row goes (a purchase on another connection can, under READ COMMITTED): a step
    between the two inserts it in the deletion's transaction."""
    late = LateOrder()

    async def commit_an_order(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
        assert late.event is not None
        now = uow.clock.now()
        order = Order(
            id=new_uuid(),
            reference=short_reference(8),
            event_id=late.event.id,
            buyer_user_id=subject.user_id,
            buyer_key=buyer_key(subject.user_id, subject.email),
            customer_email=subject.email,
            customer_name=subject.name,
            status=OrderStatus.PAID.value,
            quantity=1,
            total_amount=5000,
            currency="EUR",
            access_token_hash=sha256_hex("late"),
            expires_at=now,
            invoice_details={"billing": {"name": subject.name, "address": "1 Late Lane"}},
            paid_at=now,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(order)
        uow.session.add(
            Ticket(
                order_id=order.id,
                event_id=late.event.id,
                tier_id=late.event.tier_ids[0],
                code=new_uuid().hex,
                created_at=now,
            )
        )
        await uow.flush()
        late.order_id = order.id

    personal_data.register("late_purchase", set(), commit_an_order, stage=personal_data.LAST - 1)
    yield late
    personal_data._claims.pop("late_purchase:erase")


async def test_an_order_committed_after_the_orders_step_is_anonymised_too(
    client: httpx.AsyncClient, runtime: Runtime, late_order: LateOrder
) -> None:
    organizer, _ = await auth_headers(client, runtime, Role.ORGANIZER)
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    buyer, _ = await auth_headers(client, runtime)
    late_order.event = await make_event(runtime, organizer)

    response = await client.delete(f"/api/admin/users/{buyer.id}", headers=admin)

    assert response.status_code == 200, response.text
    async with runtime.unit_of_work(readonly=True) as uow:
        order = await uow.session.get_one(Order, late_order.order_id)
        tickets = (
            await uow.session.scalars(select(Ticket).where(Ticket.order_id == order.id))
        ).all()
    assert (order.customer_name, order.customer_email) == (DELETED_NAME, DELETED_EMAIL)
    assert order.invoice_details is None
    assert order.buyer_user_id is None and not order.buyer_key.startswith("user:")
    assert order.anonymized_at is not None
    assert tickets and all(t.anonymized_at is not None for t in tickets)
