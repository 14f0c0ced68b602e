"""Renewals billing charges itself (the fake gateway does not bill periods): the cron's sweep
enqueues one job per subscription and period, the job charges with the per-period key. The
clock is moved, never slept on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from admitone.accounts.models import Role
from admitone.billing import renewals
from admitone.core.clock import FrozenClock
from admitone.jobs import service as jobs_service
from admitone.jobs.models import Job, JobState
from admitone.notifications import service as notifications_service
from admitone.runtime import Runtime
from tests.support.subscriptions import (
    SUBSCRIPTIONS,
    charges,
    fake,
    load,
    make_plan,
    run_renewals,
    subscribe,
)
from tests.support.users import Signed, sign_in


async def templates_sent(runtime: Runtime, subscription_id: str) -> list[str]:
    async with runtime.unit_of_work(readonly=True) as uow:
        emails = await notifications_service.emails_about(
            uow, "subscription", uuid.UUID(subscription_id)
        )
    return sorted(e.template for e in emails)


async def test_a_period_ended_is_renewed_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    await run_renewals(runtime)
    assert len(fake(runtime).charges) == 1  # not due yet
    clock.advance(days=31)
    await run_renewals(runtime)
    await run_renewals(runtime)  # a second sweep finds nothing more to charge
    renewed = await load(runtime, sub["id"])
    assert (renewed.status, renewed.period_number) == ("active", 2)
    assert renewed.current_period_end is not None
    assert renewed.current_period_end.isoformat().startswith("2026-08-01")
    keys = [c.idempotency_key for c in fake(runtime).charges]
    assert keys[1] == f"subscription-{sub['id']}-period-2-attempt-1"
    assert len(keys) == 2
    assert [c.state for c in await charges(runtime, sub["id"])] == ["succeeded", "succeeded"]


async def test_a_trial_ends_with_the_first_charge(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, trial_days=7)
    sub = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=7)
    await run_renewals(runtime)
    paid = await load(runtime, sub["id"])
    assert (paid.status, paid.period_number) == ("active", 1)
    assert len(fake(runtime).succeeded_charges()) == 1


async def test_declined_then_paid_during_the_grace_is_active_again(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=31)
    fake(runtime).set_failure_mode("card_declined")
    await run_renewals(runtime)
    late = await load(runtime, sub["id"])
    assert late.status == "past_due"
    assert late.grace_until == clock.now() + timedelta(days=7)
    assert await templates_sent(runtime, sub["id"]) == ["subscription_past_due"]
    fake(runtime).set_failure_mode(None)
    clock.advance(days=2)
    await run_renewals(runtime)
    back = await load(runtime, sub["id"])
    assert (back.status, back.period_number, back.grace_until) == ("active", 2, None)
    keys = [c.idempotency_key for c in fake(runtime).charges]
    assert keys[1:] == [
        f"subscription-{sub['id']}-period-2-attempt-1",
        f"subscription-{sub['id']}-period-2-attempt-2",
    ]
    [_, period_two] = await charges(runtime, sub["id"])
    assert (period_two.state, period_two.failure_reason) == ("succeeded", None)


async def test_declined_to_the_end_of_the_grace_expires_with_emails(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=31)
    fake(runtime).set_failure_mode("insufficient_funds")
    await run_renewals(runtime)
    for _ in range(4):
        clock.advance(days=2)
        await run_renewals(runtime)
    ended = await load(runtime, sub["id"])
    assert ended.status == "expired"
    assert ended.ended_at is not None
    # Tried at 0, 2, 4 and 6 days; the grace's end expires it without another charge.
    assert len(fake(runtime).charges) == 1 + 4
    assert await templates_sent(runtime, sub["id"]) == [
        "subscription_expired",
        "subscription_past_due",
    ]


async def test_the_gateway_down_during_a_renewal_is_retried_and_charged_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=31)
    fake(runtime).set_failure_mode("unavailable")
    await run_renewals(runtime)
    assert (await load(runtime, sub["id"])).period_number == 1
    # The answer lost after the money moved: the retry asks with the same key.
    fake(runtime).set_failure_mode("timeout_after_charge")
    clock.advance(hours=1)
    await run_renewals(runtime)
    fake(runtime).set_failure_mode(None)
    clock.advance(hours=2)
    await run_renewals(runtime)
    renewed = await load(runtime, sub["id"])
    assert (renewed.status, renewed.period_number) == ("active", 2)
    period_two = [
        c
        for c in fake(runtime).succeeded_charges()
        if c.idempotency_key == f"subscription-{sub['id']}-period-2-attempt-1"
    ]
    assert len(period_two) == 1
    assert len(fake(runtime).succeeded_charges()) == 2


async def test_cancel_at_period_end_ends_it_then_without_a_charge(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    cancelled = await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel",
        json={"at_period_end": True},
        headers=subscriber.headers,
    )
    assert cancelled.status_code == 200
    clock.advance(days=31)
    await run_renewals(runtime)
    ended = await load(runtime, sub["id"])
    assert ended.status == "canceled"
    assert len(fake(runtime).charges) == 1


async def test_two_racing_renewals_of_one_period_charge_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=31)
    outcomes = await asyncio.gather(
        *(
            renewals.renew(
                runtime.unit_of_work,
                runtime.gateway,
                runtime.settings,
                uuid.UUID(sub["id"]),
                period=2,
                attempt=1,
            )
            for _ in range(3)
        ),
        return_exceptions=True,
    )
    assert outcomes.count("renewed") == 1, outcomes
    assert len(fake(runtime).succeeded_charges()) == 2
    assert [c.period_number for c in await charges(runtime, sub["id"])] == [1, 2]
    assert (await load(runtime, sub["id"])).period_number == 2


async def test_a_month_from_the_31st_comes_back_to_the_31st_after_february(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    clock.set(datetime(2027, 1, 31, 12, 0, tzinfo=UTC))
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    subscriber = await sign_in(client, runtime, Role.CUSTOMER)
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    ends = []
    for _ in range(3):
        current = await load(runtime, sub["id"])
        assert current.current_period_end is not None
        ends.append(current.current_period_end.date().isoformat())
        clock.set(current.current_period_end)
        await run_renewals(runtime)
    assert ends == ["2027-02-28", "2027-03-31", "2027-04-30"]
    periods = [
        (c.period_start.date(), c.period_end.date()) for c in await charges(runtime, sub["id"])
    ]
    assert [(s.isoformat(), e.isoformat()) for s, e in periods] == [
        ("2027-01-31", "2027-02-28"),
        ("2027-02-28", "2027-03-31"),
        ("2027-03-31", "2027-04-30"),
        ("2027-04-30", "2027-05-31"),
    ]


async def test_a_renewal_stuck_first_in_line_does_not_starve_the_others(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    subscriber: Signed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(renewals, "SWEEP_BATCH", 1)
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    plan = await make_plan(runtime, organizer.user.id)
    stuck = await subscribe(client, subscriber.headers, plan.id)
    clock.advance(days=1)
    other = await sign_in(client, runtime, Role.CUSTOMER)
    healthy = await subscribe(client, other.headers, plan.id)
    clock.advance(days=31)
    # The oldest period end's renewal waits a long backoff: its row stays due and first.
    key = f"{renewals.RENEW_JOB}:{stuck['id']}:2:1"
    async with runtime.unit_of_work() as uow:
        waiting = await jobs_service.enqueue(
            uow,
            renewals.RENEW_JOB,
            {"subscription_id": stuck["id"], "period": 2, "attempt": 1},
            run_at=clock.now() + timedelta(days=30),
            unique_key=key,
        )
    await run_renewals(runtime)
    assert (await load(runtime, healthy["id"])).period_number == 2
    assert (await load(runtime, stuck["id"])).period_number == 1
    # Dead, its key is free again: the next sweep enqueues that renewal anew.
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(Job).where(Job.id == waiting.id).values(state=JobState.DEAD.value)
        )
    await run_renewals(runtime)
    assert (await load(runtime, stuck["id"])).period_number == 2


async def test_the_subscription_answer_counts_the_reminders_sent_while_past_due(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    organizer: Signed,
    subscriber: Signed,
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    assert sub["reminders_sent"] == 0
    clock.advance(days=31)
    fake(runtime).set_failure_mode("card_declined")
    await run_renewals(runtime)
    staff = await sign_in(client, runtime, Role.ADMIN)  # the subscriber's token has expired
    response = await client.get(f"{SUBSCRIPTIONS}/{sub['id']}", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["reminders_sent"]) == ("past_due", 1)
