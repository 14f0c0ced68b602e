"""Subscribing, reading and cancelling over the API, with the fake gateway: the first period
charged at once (or a trial), one live subscription per user and plan, the gateway's refusals,
who sees what, and a refund booked to the ledger."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.accounts.models import Role
from admitone.activity.models import ActivityEntry
from admitone.billing.models import Subscription
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger_service
from admitone.ledger.models import JournalEntry
from admitone.payments.gateway import Charge, ChargeRequest
from admitone.runtime import Runtime
from tests.support.subscriptions import (
    SUBSCRIPTIONS,
    charges,
    end_during,
    fake,
    load,
    make_plan,
    subscribe,
)
from tests.support.users import Signed, sign_in


async def entries(runtime: Runtime, subscription_id: str) -> list[JournalEntry]:
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = await uow.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.subscription_id == uuid.UUID(subscription_id))
            .order_by(JournalEntry.posted_at, JournalEntry.kind)
        )
        return list(rows)


async def test_subscribing_charges_the_first_period_and_books_it(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    sub = await subscribe(client, subscriber.headers, plan.id)
    assert sub["status"] == "active"
    assert sub["price"] == "15.00" and sub["period_number"] == 1
    assert sub["current_period_end"].startswith("2026-07-01")
    [charge] = fake(runtime).succeeded_charges()
    assert charge.idempotency_key == f"subscription-{sub['id']}-period-1-attempt-1"
    [row] = await charges(runtime, sub["id"])
    assert (row.state, row.amount, row.gateway_charge_id) == ("succeeded", 1500, charge.id)
    kinds = sorted(e.kind for e in await entries(runtime, sub["id"]))
    assert kinds == ["processing_fee", "subscription_charge"]


async def test_a_trial_charges_nothing_until_it_ends(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id, trial_days=14)
    sub = await subscribe(client, subscriber.headers, plan.id)
    assert sub["status"] == "trialing"
    assert sub["trial_end"].startswith("2026-06-15")
    assert fake(runtime).charges == []


async def test_a_second_live_subscription_to_a_plan_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    await subscribe(client, subscriber.headers, plan.id)
    again = await subscribe(client, subscriber.headers, plan.id, expect=409)
    assert again["error"] == "already_subscribed"
    assert len(fake(runtime).charges) == 1


async def test_two_racing_subscriptions_make_one(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    body = {"subscription": {"plan_id": str(plan.id), "payment_method": "pm_card_visa"}}
    answers = await asyncio.gather(
        *(client.post(SUBSCRIPTIONS, json=body, headers=subscriber.headers) for _ in range(3))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409], [a.text for a in answers]
    async with runtime.unit_of_work(readonly=True) as uow:
        rows = list(await uow.session.scalars(select(Subscription)))
    assert len(rows) == 1
    assert len(fake(runtime).succeeded_charges()) == 1


async def test_an_unknown_or_archived_plan_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    missing = await subscribe(client, subscriber.headers, uuid.uuid4(), expect=404)
    assert missing["error"] == "plan_not_found"
    archived = await make_plan(runtime, organizer.user.id, archived=True)
    refused = await subscribe(client, subscriber.headers, archived.id, expect=422)
    assert refused["error"] == "plan_archived"
    assert refused["details"]["field"] == "plan_id"


async def test_a_declined_first_payment_is_a_402_and_the_subscription_expired(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    refused = await subscribe(
        client, subscriber.headers, plan.id, payment_method="pm_card_chargeDeclined", expect=402
    )
    assert refused["error"] == "payment_failed"
    assert refused["details"]["reason"] == "card_declined"
    mine = (await client.get(SUBSCRIPTIONS, headers=subscriber.headers)).json()["data"]
    assert [s["status"] for s in mine] == ["expired"]
    # Ended, so the subscriber may try again with another card.
    again = await subscribe(client, subscriber.headers, plan.id)
    assert again["status"] == "active"


async def test_a_payment_method_the_gateway_refuses_is_a_402_with_nothing_kept(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    refused = await subscribe(
        client, subscriber.headers, plan.id, payment_method="pm_nonsense", expect=402
    )
    assert refused["details"] == {"reason": "payment_method_unknown", "field": "payment_method"}
    async with runtime.unit_of_work(readonly=True) as uow:
        assert list(await uow.session.scalars(select(Subscription))) == []


async def test_the_gateway_down_is_a_503_with_nothing_kept(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    fake(runtime).set_failure_mode("unavailable")
    down = await subscribe(client, subscriber.headers, plan.id, expect=503)
    assert down["error"] == "payment_gateway_unavailable"
    fake(runtime).set_failure_mode(None)
    async with runtime.unit_of_work(readonly=True) as uow:
        assert list(await uow.session.scalars(select(Subscription))) == []
    assert (await subscribe(client, subscriber.headers, plan.id))["status"] == "active"


async def test_an_answer_lost_after_the_charge_is_found_by_its_key(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(
        client, subscriber.headers, plan.id, payment_method="pm_card_timeoutAfterCharge"
    )
    assert sub["status"] == "active"
    assert len(fake(runtime).succeeded_charges()) == 1


async def test_who_sees_which_subscriptions(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    other_plan = await make_plan(runtime, organizer.user.id, name="Patrons")
    sub = await subscribe(client, subscriber.headers, plan.id)
    await subscribe(client, subscriber.headers, other_plan.id)
    stranger = await sign_in(client, runtime, Role.CUSTOMER)
    admin = await sign_in(client, runtime, Role.ADMIN)

    async def seen(who: Signed, **params: str) -> list[str]:
        answer = await client.get(SUBSCRIPTIONS, headers=who.headers, params=params)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()["data"]]

    assert len(await seen(subscriber)) == 2
    assert len(await seen(organizer)) == 2
    assert await seen(organizer, plan_id=str(plan.id)) == [sub["id"]]
    assert len(await seen(admin, status="active")) == 2
    assert await seen(admin, status="canceled") == []
    assert await seen(stranger) == []
    foreign = await client.get(f"{SUBSCRIPTIONS}/{sub['id']}", headers=stranger.headers)
    assert foreign.status_code == 404
    assert foreign.json()["error"] == "subscription_not_found"
    first = await client.get(SUBSCRIPTIONS, headers=subscriber.headers, params={"limit": 1})
    rest = await client.get(
        SUBSCRIPTIONS,
        headers=subscriber.headers,
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert len(rest.json()["data"]) == 1
    assert rest.json()["data"][0]["id"] != first.json()["data"][0]["id"]


async def test_cancel_at_period_end_keeps_the_member_until_then(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    answer = await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel", json={}, headers=subscriber.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "active"
    assert answer.json()["cancel_at_period_end"] is True


async def test_a_subscriber_cannot_refund_and_cancel_now_ends_it(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    url = f"{SUBSCRIPTIONS}/{sub['id']}/cancel"
    refused = await client.post(
        url, json={"at_period_end": False, "refund": True}, headers=subscriber.headers
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "subscription_refund_forbidden"
    ended = await client.post(url, json={"at_period_end": False}, headers=subscriber.headers)
    assert ended.json()["status"] == "canceled"
    again = await client.post(url, json={"at_period_end": False}, headers=subscriber.headers)
    assert again.status_code == 409
    assert again.json()["error"] == "subscription_ended"


async def test_the_organizer_cancels_now_with_a_full_refund_booked(
    client: httpx.AsyncClient, runtime: Runtime, organizer: Signed, subscriber: Signed
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=2000)
    sub = await subscribe(client, subscriber.headers, plan.id)
    answer = await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel",
        json={"at_period_end": False, "refund": True},
        headers=organizer.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "canceled"
    [charge] = fake(runtime).charges
    assert [r.amount for r in fake(runtime).refunds_of(charge.id)] == [2000]
    [row] = await charges(runtime, sub["id"])
    assert row.amount_refunded == 2000
    refunds = [e for e in await entries(runtime, sub["id"]) if e.kind == "subscription_refund"]
    assert [e.amount for e in refunds] == [2000]
    assert (await load(runtime, sub["id"])).ended_at is not None
    async with runtime.unit_of_work(readonly=True) as uow:
        # In, the fee out, the refund out: the gateway holds minus its fee for the organizer.
        held = await ledger_service.gateway_balance(uow, organizer.user.id, "EUR")
    assert held == -(charge.fee or 0)


async def test_changes_reach_the_topics_and_the_activity_log_without_personal_data(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Signed,
    subscriber: Signed,
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    plan = await make_plan(runtime, organizer.user.id)
    sub = await subscribe(client, subscriber.headers, plan.id)
    await client.post(
        f"{SUBSCRIPTIONS}/{sub['id']}/cancel",
        json={"at_period_end": False},
        headers=subscriber.headers,
    )
    topics = {topic for topic, _ in published if topic.startswith("billing:subscriptions")}
    assert topics == {
        "billing:subscriptions",
        f"billing:subscriptions:user:{organizer.id}",
        f"billing:subscriptions:user:{subscriber.id}",
    }
    async with runtime.unit_of_work(readonly=True) as uow:
        actions = [
            (e.action, e.meta.get("new_status"))
            for e in await uow.session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.resource_type == "subscription")
                .order_by(ActivityEntry.created_at, ActivityEntry.action)
            )
        ]
    assert sorted(actions) == [
        ("billing.subscription_canceled", "canceled"),
        ("billing.subscription_created", "active"),
    ]


async def test_a_subscription_ended_during_its_first_charge_stays_ended_and_is_refunded(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: Signed,
    subscriber: Signed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    gateway = fake(runtime)
    charge = gateway.create_charge

    async def charge_then_end(request: ChargeRequest) -> Charge:
        taken = await charge(request)
        await end_during(runtime, request.metadata["subscription_id"])
        return taken

    monkeypatch.setattr(gateway, "create_charge", charge_then_end)

    sub = await subscribe(client, subscriber.headers, plan.id)

    assert sub["status"] == "canceled"
    assert (await load(runtime, sub["id"])).status == "canceled"
    assert await entries(runtime, sub["id"]) == []
    [taken] = gateway.succeeded_charges()
    await drain(runtime)
    await drain(runtime)
    assert [r.amount for r in gateway.refunds_of(taken.id)] == [1500]
    assert gateway.net_captured() == 0
