"""The refund policy of an event: buyers cancel a paid order for a refund until it closes (the
start by default, an earlier deadline, or never); the organizer and staff can still cancel and
refund, with a reason code that the activity log records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.accounts.models import Role, User
from admitone.activity.models import ActivityEntry
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from admitone.ticketing.idempotency import refund_key
from tests.conftest import auth_headers, login
from tests.support.reads import counters
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import (
    EVENT_DATE,
    buy,
    load_order,
    make_event,
    order_body,
    ticket_count,
)

AFTER_START = datetime(2026, 7, 15, 18, 30, tzinfo=UTC)
DEADLINE = "2026-07-01T00:00:00Z"


@pytest.fixture
async def organizer_signed(client: httpx.AsyncClient, runtime: Runtime) -> Signed:
    return await sign_in(client, runtime, Role.ORGANIZER)


async def headers_now(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Signed in again: the clock moved past the earlier token's lifetime."""
    return {"Authorization": f"Bearer {(await login(client, user.email))['access_token']}"}


async def set_policy(
    client: httpx.AsyncClient, organizer: Signed, event_id: uuid.UUID, **policy: Any
) -> httpx.Response:
    return await client.put(
        f"/api/events/{event_id}", json={"event": policy}, headers=organizer.headers
    )


async def cancel(
    client: httpx.AsyncClient,
    order_id: str,
    headers: dict[str, str],
    **body: Any,
) -> httpx.Response:
    return await client.post(f"/api/orders/{order_id}/cancel", json=body, headers=headers)


async def cancellations(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(ActivityEntry).where(
                ActivityEntry.action == "ticketing.order_cancelled",
                ActivityEntry.resource_uuid == uuid.UUID(order_id),
            )
        )
        return [{**row.meta, "actor_role": row.actor_role} for row in rows]


async def test_a_buyer_cannot_cancel_a_paid_order_for_a_refund_once_the_event_started(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    *,
    buyer: Signed,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer_signed.user)
    order = (await buy(client, event.id, order_body(2), headers=buyer.headers)).json()
    clock.set(AFTER_START)

    response = await cancel(client, order["id"], await headers_now(client, buyer.user))

    assert response.status_code == 409, response.text
    assert response.json()["error"] == "refund_window_closed"
    assert response.json()["details"]["refunds_until"] == EVENT_DATE.isoformat()
    assert (await load_order(runtime, order["id"])).status == "paid"
    assert await ticket_count(runtime, order["id"]) == 2
    assert gateway.refunds == [] and gateway.net_captured() == 10000


async def test_an_earlier_deadline_closes_buyers_refunds_then(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer_signed.user)
    updated = await set_policy(
        client, organizer_signed, event.id, refund_policy="until_deadline", refund_deadline=DEADLINE
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["refund_policy"] == "until_deadline"
    assert updated.json()["refunds_until"] == updated.json()["refund_deadline"]
    early = (await buy(client, event.id, order_body(1, email="early@example.com"))).json()
    late = (await buy(client, event.id, order_body(1, email="late@example.com"))).json()

    clock.set(datetime(2026, 6, 30, 23, 59, tzinfo=UTC))
    refunded = await client.post(
        f"/api/orders/{early['id']}/cancel", params={"token": early["access_token"]}
    )
    clock.set(datetime(2026, 7, 1, 0, 0, tzinfo=UTC))
    refused = await client.post(
        f"/api/orders/{late['id']}/cancel", params={"token": late["access_token"]}
    )

    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    [entry] = await cancellations(runtime, early["id"])
    assert "reason" not in entry and "forced" not in entry  # the buyer's own right
    assert refused.status_code == 409 and refused.json()["error"] == "refund_window_closed"
    assert (await load_order(runtime, late["id"])).status == "paid"
    assert len(gateway.refunds) == 1


async def test_an_event_without_refunds_refuses_buyers_but_lets_a_pending_order_go(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    gateway: FakeGateway,
) -> None:
    event = await make_event(runtime, organizer_signed.user)
    assert (await set_policy(client, organizer_signed, event.id, refund_policy="none")).json()[
        "refunds_until"
    ] is None
    paid = (await buy(client, event.id, order_body(1, email="paid@example.com"))).json()
    gateway.default_payment_method = None
    pending = (await buy(client, event.id, order_body(1, email="wait@example.com"))).json()

    refused = await client.post(
        f"/api/orders/{paid['id']}/cancel", params={"token": paid["access_token"]}
    )
    let_go = await client.post(
        f"/api/orders/{pending['id']}/cancel", params={"token": pending["access_token"]}
    )

    assert refused.status_code == 409 and refused.json()["error"] == "refunds_not_allowed"
    assert (await load_order(runtime, paid["id"])).status == "paid"
    assert let_go.status_code == 200 and let_go.json()["status"] == "cancelled"
    assert gateway.refunds == []


async def test_the_organizer_cancels_and_refunds_after_the_start_giving_a_reason(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    *,
    buyer: Signed,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer_signed.user)
    order = (await buy(client, event.id, order_body(2), headers=buyer.headers)).json()
    clock.set(AFTER_START)
    headers = await headers_now(client, organizer_signed.user)

    unexplained = await cancel(client, order["id"], headers, reason="Ada asked by phone")
    assert unexplained.status_code == 422
    assert unexplained.json()["error"] == "cancel_reason_required"
    assert unexplained.json()["details"]["field"] == "reason_code"

    response = await cancel(
        client, order["id"], headers, reason_code="event_changed", reason="Ada asked by phone"
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refunded"
    assert {t["status"] for t in response.json()["tickets"]} == {"void"}
    assert (await counters(runtime, event.id)).event == 0
    # The money goes back through the gateway, not only in our database.
    [refund] = gateway.refunds
    assert refund.amount == 10000 and refund.idempotency_key == refund_key(uuid.UUID(order["id"]))
    assert gateway.net_captured() == 0
    [entry] = await cancellations(runtime, order["id"])
    assert (entry["reason"], entry["forced"], entry["actor_role"]) == (
        "event_changed",
        True,
        "organizer",
    )
    assert "Ada" not in str(entry)  # the free-text note stays on the order
    assert (await load_order(runtime, order["id"])).cancel_reason == "Ada asked by phone"


async def test_staff_cancel_any_order_and_another_organizer_cannot_see_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    buyer: Signed,
    gateway: FakeGateway,
) -> None:
    event = await make_event(runtime, organizer_signed.user)
    order = (await buy(client, event.id, order_body(1), headers=buyer.headers)).json()
    _, stranger = await auth_headers(client, runtime, Role.ORGANIZER)
    _, admin = await auth_headers(client, runtime, Role.ADMIN)

    hidden = await cancel(client, order["id"], stranger, reason_code="fraud")
    done = await cancel(client, order["id"], admin, reason_code="fraud")

    assert hidden.status_code == 404
    assert done.status_code == 200 and done.json()["status"] == "refunded"
    [entry] = await cancellations(runtime, order["id"])
    assert (entry["reason"], entry["actor_role"]) == ("fraud", "admin")
    assert len(gateway.refunds) == 1


async def test_cancelling_a_pending_order_cancels_its_payment_intent(
    client: httpx.AsyncClient, runtime: Runtime, organizer_signed: Signed, gateway: FakeGateway
) -> None:
    gateway.default_payment_method = None
    event = await make_event(runtime, organizer_signed.user)
    order = (await buy(client, event.id, order_body(2))).json()
    token = {"token": order["access_token"]}

    assert (await client.post(f"/api/orders/{order['id']}/cancel", params=token)).is_success
    await drain(runtime)

    [charge] = gateway.charges
    assert charge.failure_reason == "canceled"
    stale_tab = await client.post(
        f"/api/orders/{order['id']}/pay", params=token, json={"payment_method": "pm_card_visa"}
    )
    assert stale_tab.status_code == 409 and gateway.net_captured() == 0


@pytest.mark.parametrize(
    "policy",
    [
        {"refund_policy": "until_deadline"},
        {"refund_policy": "until_start", "refund_deadline": DEADLINE},
        {"refund_policy": "until_deadline", "refund_deadline": "2026-07-16T00:00:00Z"},
    ],
)
async def test_a_refund_policy_that_does_not_hold_together_is_refused_with_its_field(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer_signed: Signed,
    policy: dict[str, Any],
) -> None:
    event = await make_event(runtime, organizer_signed.user)

    response = await set_policy(client, organizer_signed, event.id, **policy)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_refund_deadline"
    assert response.json()["details"]["field"] == "event.refund_deadline"


async def test_moving_the_start_before_the_refund_deadline_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer_signed: Signed
) -> None:
    created = await client.post(
        "/api/events",
        json={
            "event": {
                "name": "Gala",
                "venue": "Hall",
                "date": EVENT_DATE.isoformat(),
                "ticket_price": "10.00",
                "total_tickets": 10,
                "refund_policy": "until_deadline",
                "refund_deadline": DEADLINE,
            }
        },
        headers=organizer_signed.headers,
    )
    assert created.status_code == 201, created.text
    assert (created.json()["refund_policy"], created.json()["refunds_until"]) == (
        "until_deadline",
        "2026-07-01T00:00:00Z",
    )

    moved = await client.put(
        f"/api/events/{created.json()['id']}",
        json={"event": {"date": "2026-06-20T18:00:00Z"}},
        headers=organizer_signed.headers,
    )
    relaxed = await client.put(
        f"/api/events/{created.json()['id']}",
        json={"event": {"refund_policy": "until_start"}},
        headers=organizer_signed.headers,
    )

    assert moved.status_code == 422 and moved.json()["details"]["field"] == "event.refund_deadline"
    assert relaxed.status_code == 200, relaxed.text
    assert relaxed.json()["refund_deadline"] is None
    assert relaxed.json()["refunds_until"] == relaxed.json()["starts_at"]
