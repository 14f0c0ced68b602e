"""After a user who bought, subscribed, asked for help and wrote is deleted, their email, name
and id are found nowhere in the database but where the strategy keeps them: the invoices'
snapshot (tax law) and the activity log's actor uuid (which names no one)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - every domain's claim, hooks and job handlers
from admitone.accounts.models import Role
from admitone.billing.erasure import CANCEL_AT_GATEWAY_JOB
from admitone.billing.models import Subscription
from admitone.config import Settings
from admitone.core.ids import new_uuid
from admitone.jobs.worker import drain
from admitone.models import metadata
from admitone.notifications.models import EmailLog, EmailPayload
from admitone.payments.fake import FakeGateway
from admitone.payments.subscriptions import GatewaySubscriptionStatus
from admitone.posts.models import Post
from admitone.runtime import Runtime
from admitone.ticketing.models import Order, Ticket
from tests.billing.conftest import ask_invoice, details
from tests.conftest import RELAXED_RATE_LIMITS, create_user, login
from tests.support.reads import counters, jobs_of
from tests.support.subscriptions import make_plan, subscribe
from tests.support.users import Signed, sign_in
from tests.ticketing.conftest import make_event, order_body

NAME = "Zelda Quintessence"
EMAIL = "zelda.quintessence@example.com"
# Where the strategy keeps what it finds: the invoice's snapshot, the activity log's uuids.
KEPT = {"invoices", "invoice_lines", "activity_entries"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**RELAXED_RATE_LIMITS, "fake_gateway_latency_ms": 0.0})


@dataclass
class Footprint:
    subject: Signed
    paid_order: str
    pending_order: str
    pending_event: uuid.UUID
    subscription: str


async def leave_a_footprint(client: httpx.AsyncClient, runtime: Runtime) -> Footprint:
    assert isinstance(runtime.gateway, FakeGateway)
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    user = await create_user(runtime, Role.CUSTOMER, email=EMAIL, name=NAME)
    tokens = await login(client, EMAIL)
    subject = Signed(user, {"Authorization": f"Bearer {tokens['access_token']}"})
    headers = subject.headers
    concert = await make_event(runtime, organizer.user)
    matinee = await make_event(runtime, organizer.user)

    profile = await client.post(
        "/api/me/billing-profiles", json=details(name=NAME), headers=headers
    )
    assert profile.status_code == 201, profile.text
    body = order_body(2, email=EMAIL, name=NAME)
    paid = await client.post(f"/api/events/{concert.id}/purchase", json=body, headers=headers)
    assert paid.status_code == 201 and paid.json()["status"] == "paid", paid.text
    invoice = await ask_invoice(client, paid.json()["id"], headers)
    assert invoice.status_code == 201, invoice.text

    runtime.gateway.default_payment_method = None
    # Asks for an invoice at checkout: the order keeps the billing details until deletion.
    asking = {"order": {**body["order"], "invoice": {"billing": details(name=NAME)}}}
    pending = await client.post(f"/api/events/{matinee.id}/purchase", json=asking, headers=headers)
    assert pending.status_code == 201 and pending.json()["status"] == "pending", pending.text
    runtime.gateway.default_payment_method = "pm_card_visa"

    cart = await client.post("/api/carts", headers=headers)
    assert cart.status_code == 201, cart.text
    plan = await make_plan(runtime, organizer.user.id)
    subscription = await subscribe(client, headers, plan.id)

    request = await client.post(
        "/api/support/requests",
        json={"subject": f"Help for {NAME}", "body": f"Write to me at {EMAIL}, {NAME}."},
        headers=headers,
    )
    assert request.status_code == 201, request.text
    comments = f"/api/support/requests/{request.json()['id']}/comments"
    reply = await client.post(comments, json={"body": f"Still waiting. {NAME}"}, headers=headers)
    assert reply.status_code == 201, reply.text

    now = runtime.clock.now()
    sent, queued = new_uuid(), new_uuid()
    async with runtime.unit_of_work() as uow:
        for email_id, status in ((sent, "sent"), (queued, "queued")):
            uow.session.add(
                EmailLog(
                    id=email_id,
                    to_address=EMAIL,
                    template="order_confirmation",
                    status=status,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        await uow.flush()
        uow.session.add(EmailPayload(email_id=queued, context={"name": NAME, "email": EMAIL}))
        uow.session.add(
            Post(
                id=new_uuid(),
                organizer_id=user.id,
                title="A review",
                body="Lovely evening.",
                status="published",
                created_at=now,
                updated_at=now,
            )
        )
    return Footprint(
        subject, paid.json()["id"], pending.json()["id"], matinee.id, subscription["id"]
    )


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


async def traces(runtime: Runtime, user_id: uuid.UUID) -> dict[str, set[str]]:
    """Every table and column whose text holds the user's email, name or id."""
    needles = [EMAIL, EMAIL.lower(), NAME, str(user_id), user_id.hex]
    found: dict[str, set[str]] = {}
    async with runtime.unit_of_work(readonly=True) as uow:
        for table in metadata.sorted_tables:
            for row in (await uow.session.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is not None and any(n in _text(value) for n in needles):
                        found.setdefault(table.name, set()).add(column)
    return found


async def test_a_deleted_user_is_found_only_where_the_strategy_keeps_them(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    footprint = await leave_a_footprint(client, runtime)
    user_id = footprint.subject.user.id
    assert {"users", "orders", "billing_profiles", "support_requests"} <= set(
        await traces(runtime, user_id)
    )
    admin = await sign_in(client, runtime, Role.ADMIN)

    response = await client.delete(f"/api/admin/users/{user_id}", headers=admin.headers)

    assert response.status_code == 200, response.text
    answer = response.json()
    deleted = answer["deleted"]
    assert (deleted["users"], deleted["sessions"]) == (1, 1)
    assert (deleted["billing_profiles"], deleted["carts"]) == (1, 1)
    assert answer["anonymised"]["orders"] == 2
    assert answer["anonymised"]["pending_orders_cancelled"] == 1
    assert answer["anonymised"]["tickets"] == 2
    assert answer["anonymised"]["posts"] == 1
    assert answer["anonymised"]["support_requests"] == 1
    assert answer["anonymised"]["support_comments"] == 1
    assert answer["anonymised"]["subscriptions_cancelled"] == 1
    assert answer["kept"]["invoices"] == 1
    assert deleted["unsent_emails"] >= 1 and answer["anonymised"]["email_log"] >= 1
    assert "subscription_cancelled_at_gateway" in answer["irreversible"]

    left = await traces(runtime, user_id)
    assert set(left) <= KEPT, left

    # The pending order gave its seats back; the paid one keeps its seats and valid tickets.
    assert (await counters(runtime, footprint.pending_event)).event == 0
    async with runtime.unit_of_work(readonly=True) as uow:
        paid = await uow.session.get_one(Order, uuid.UUID(footprint.paid_order))
        tickets = list(await uow.session.scalars(select(Ticket).where(Ticket.order_id == paid.id)))
        subscription = await uow.session.get_one(Subscription, uuid.UUID(footprint.subscription))
    assert paid.status == "paid" and paid.anonymized_at is not None
    assert [t.status for t in tickets] == ["valid", "valid"]
    assert all(t.anonymized_at is not None for t in tickets)
    assert subscription.status == "canceled" and subscription.user_id is None
    assert len(await jobs_of(runtime, CANCEL_AT_GATEWAY_JOB)) == 1


async def test_the_provider_is_told_of_the_cancelled_subscription_after_the_commit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    footprint = await leave_a_footprint(client, runtime)
    gateway = runtime.gateway
    assert isinstance(gateway, FakeGateway)
    admin = await sign_in(client, runtime, Role.ADMIN)
    async with runtime.unit_of_work(readonly=True) as uow:
        row = await uow.session.get_one(Subscription, uuid.UUID(footprint.subscription))
    assert row.gateway_subscription_id is not None
    gateway.calls.clear()

    deleted = await client.delete(
        f"/api/admin/users/{footprint.subject.user.id}", headers=admin.headers
    )
    assert deleted.status_code == 200, deleted.text
    assert "cancel_subscription" not in gateway.calls  # not inside the transaction

    await drain(runtime)
    remote = await gateway.retrieve_subscription(row.gateway_subscription_id)
    assert remote.status is GatewaySubscriptionStatus.CANCELED
