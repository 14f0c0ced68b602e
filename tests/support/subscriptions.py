"""Plans and subscriptions for the subscription tests: a plan row made directly (the plans API
is the memberships' own), and the ways a test moves a subscription through time."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from admitone.billing import renewals, subscriptions
from admitone.billing.models import Plan, Subscription, SubscriptionCharge, SubscriptionStatus
from admitone.core.ids import new_uuid
from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime

SUBSCRIPTIONS = "/api/subscriptions"


async def make_plan(
    runtime: Runtime,
    organizer_id: uuid.UUID,
    *,
    price: int = 1500,
    currency: str = "EUR",
    interval: str = "month",
    trial_days: int = 0,
    archived: bool = False,
    name: str = "Friends of the venue",
) -> Plan:
    now = runtime.clock.now()
    plan = Plan(
        id=new_uuid(),
        organizer_id=organizer_id,
        name=name,
        description=None,
        price=price,
        currency=currency,
        interval=interval,
        trial_days=trial_days,
        archived_at=now if archived else None,
        created_at=now,
        updated_at=now,
    )
    async with runtime.unit_of_work() as uow:
        uow.session.add(plan)
    return plan


async def subscribe(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    plan_id: uuid.UUID | str,
    *,
    payment_method: str | None = "pm_card_visa",
    expect: int = 201,
) -> dict[str, Any]:
    body: dict[str, Any] = {"plan_id": str(plan_id)}
    if payment_method is not None:
        body["payment_method"] = payment_method
    response = await client.post(SUBSCRIPTIONS, json={"subscription": body}, headers=headers)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def run_renewals(runtime: Runtime) -> int:
    """What the cron's sweep and the worker do at the clock's time: enqueue what is due, run
    every job due."""
    async with runtime.unit_of_work() as uow:
        await renewals.sweep(uow, runtime.gateway)
    return await drain(runtime)


async def load(runtime: Runtime, subscription_id: uuid.UUID | str) -> Subscription:
    async with runtime.unit_of_work(readonly=True) as uow:
        found = await uow.session.get(Subscription, uuid.UUID(str(subscription_id)))
    assert found is not None
    return found


async def charges(runtime: Runtime, subscription_id: uuid.UUID | str) -> list[SubscriptionCharge]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(SubscriptionCharge)
            .where(SubscriptionCharge.subscription_id == uuid.UUID(str(subscription_id)))
            .order_by(SubscriptionCharge.period_number)
        )
        return list(rows)


async def end_during(runtime: Runtime, subscription_id: str) -> None:
    """What the account's deletion does to a live subscription, in its own transaction."""
    async with runtime.unit_of_work() as uow:
        ended = await subscriptions.locked(uow, uuid.UUID(subscription_id))
        assert ended is not None
        await subscriptions.become(
            uow, ended, SubscriptionStatus.CANCELED, action="canceled", reason="account_deleted"
        )


def fake(runtime: Runtime) -> FakeGateway:
    """The runtime's gateway, which the subscription tests drive as the fake."""
    assert isinstance(runtime.gateway, FakeGateway)
    return runtime.gateway
