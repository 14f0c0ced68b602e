"""Stripe's webhooks settle orders exactly once, in any order of arrival, and only when Stripe
signed them (the in-memory gateway stands in for Stripe's side; the SDK verifies signatures)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from admitone.accounts.models import User
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger
from admitone.payments.fake import FakeGateway, fake_fee
from admitone.payments.gateway import ChargeRequest
from admitone.runtime import Runtime
from admitone.ticketing.books import RECORD_FEE_JOB
from admitone.ticketing.models import OrderStatus
from tests.conftest import auth_headers
from tests.payments.webhook_support import (  # noqa: F401 - fixtures
    buyer_confirms,
    entries_of,
    expire_while_the_gateway_is_down,
    intent_event,
    pending_order,
    post_webhook,
    settings_fixture,
    webhook_events,
)
from tests.support.reads import counters, jobs_of
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    buy,
    emails_for,
    gateway_fixture,
    load_order,
    make_event,
    order_body,
    organizer_fixture,
    ticket_count,
)

PRICE = 5000  # one 50.00 ticket
PAID = [("payment_captured", 2 * PRICE), ("processing_fee", fake_fee(2 * PRICE))]


async def books_of(runtime: Runtime, organizer_id: uuid.UUID) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        trial = await ledger.trial_balance(uow, organizer_id=organizer_id)
        assert trial.balanced, trial.unbalanced_books
        return await ledger.gateway_balance(uow, organizer_id, "USD")


async def test_a_payment_confirmed_in_the_browser_completes_the_order_by_webhook(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])

    response = await post_webhook(client, intent_event("payment_intent.succeeded", charge))

    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
    assert await ticket_count(runtime, order["id"]) == 2
    await drain(runtime, queues=["emails"])  # the confirmation job
    assert [e.template for e in await emails_for(runtime, order["id"])] == ["order_confirmation"]
    # A webhook carries no fee: a job reads it from the gateway, then the books match it.
    assert await entries_of(runtime, order["id"]) == [("payment_captured", 2 * PRICE)]
    assert len(await jobs_of(runtime, RECORD_FEE_JOB)) == 1
    clock.advance(minutes=1)
    await drain(runtime)
    assert await entries_of(runtime, order["id"]) == PAID
    assert await books_of(runtime, organizer.id) == 2 * PRICE - fake_fee(2 * PRICE)


async def test_a_guest_keeps_access_to_an_order_paid_by_webhook(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])

    await post_webhook(client, intent_event("payment_intent.succeeded", charge))

    # The browser that paid still holds the token from the purchase answer.
    response = await client.get(
        f"/api/orders/by-reference/{order['reference']}",
        params={"token": order["access_token"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "paid"


@pytest.mark.parametrize("decline_code", ["insufficient_funds", "expired_card", "do_not_honor"])
async def test_a_declined_intent_leaves_the_order_pending_with_its_seats(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    decline_code: str,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"], "pm_card_chargeDeclined")

    response = await post_webhook(
        client,
        intent_event("payment_intent.payment_failed", charge, decline_code=decline_code),
    )

    assert response.status_code == 200 and response.json()["outcome"] == "declined"
    waiting = await load_order(runtime, order["id"])
    assert (waiting.status, waiting.failure_reason) == (OrderStatus.PENDING, None)
    assert (await counters(runtime, event.id)).event == 2
    assert await entries_of(runtime, order["id"]) == []


async def test_a_canceled_intent_fails_the_order_and_returns_its_seats(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"], "pm_card_chargeDeclined")

    response = await post_webhook(client, intent_event("payment_intent.canceled", charge))

    assert response.status_code == 200 and response.json()["outcome"] == "failed"
    failed = await load_order(runtime, order["id"])
    assert (failed.status, failed.failure_reason) == (OrderStatus.FAILED, "canceled")
    assert (await counters(runtime, event.id)).event == 0
    assert await entries_of(runtime, order["id"]) == []


async def test_a_replayed_webhook_answers_200_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    succeeded = intent_event("payment_intent.succeeded", charge)

    first = await post_webhook(client, succeeded)
    replays = [await post_webhook(client, succeeded) for _ in range(3)]

    assert first.json()["outcome"] == "paid"
    assert [(r.status_code, r.json()["outcome"]) for r in replays] == [(200, "duplicate")] * 3
    assert await ticket_count(runtime, order["id"]) == 2
    await drain(runtime, queues=["emails"])
    assert len(await emails_for(runtime, order["id"])) == 1
    assert await entries_of(runtime, order["id"]) == [("payment_captured", 2 * PRICE)]
    assert await webhook_events(runtime) == 1
    # Stripe also sends a second event (another id) about the same success: still one entry.
    again = await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    assert again.json()["outcome"] == "already_paid"
    assert await entries_of(runtime, order["id"]) == [("payment_captured", 2 * PRICE)]


async def test_a_failure_arriving_after_the_success_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    await post_webhook(client, intent_event("payment_intent.succeeded", charge))

    late_failure = await post_webhook(
        client, intent_event("payment_intent.payment_failed", charge, decline_code="card_declined")
    )

    assert late_failure.status_code == 200 and late_failure.json()["outcome"] == "ignored"
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PAID
    assert await ticket_count(runtime, order["id"]) == 2
    assert (await counters(runtime, event.id)).event == 2


async def test_a_success_after_a_decline_on_the_same_intent_pays_the_order(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    declined = await buyer_confirms(runtime, gateway, order["id"], "pm_card_chargeDeclined")
    await post_webhook(client, intent_event("payment_intent.payment_failed", declined))
    assert (await counters(runtime, event.id)).event == 2
    # The buyer tried another card on the same intent, and that one went through.
    paid = await buyer_confirms(runtime, gateway, order["id"], "pm_card_visa")

    response = await post_webhook(client, intent_event("payment_intent.succeeded", paid))

    assert response.json()["outcome"] == "paid"
    order_now = await load_order(runtime, order["id"])
    assert order_now.status == OrderStatus.PAID and order_now.refund_reference is None
    assert await ticket_count(runtime, order["id"]) == 2
    assert gateway.net_captured() == 2 * PRICE and gateway.refunds == []
    assert (await counters(runtime, event.id)).event == 2


async def test_a_forged_or_stale_signature_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    succeeded = intent_event("payment_intent.succeeded", charge)

    forged = await post_webhook(client, succeeded, secret="whsec_someone_else")
    stale = await post_webhook(client, succeeded, timestamp=int(time.time()) - 301)
    unsigned = await post_webhook(client, succeeded, signature="t=1,v1=00")

    for response in (forged, stale, unsigned):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_signature"
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PENDING
    assert await webhook_events(runtime) == 0
    assert await entries_of(runtime, order["id"]) == []
    # Stripe's own delivery of the same event still goes through afterwards.
    assert (await post_webhook(client, succeeded)).json()["outcome"] == "paid"


async def test_without_a_webhook_secret_every_webhook_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"stripe_webhook_secret": None})
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])

    response = await post_webhook(client, intent_event("payment_intent.succeeded", charge))

    assert response.status_code == 503 and response.json()["error"] == "webhooks_not_configured"
    assert (await load_order(runtime, order["id"])).status == OrderStatus.PENDING


async def test_a_payment_after_expiry_is_refunded_the_buyer_told_and_the_books_show_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    await expire_while_the_gateway_is_down(runtime, gateway, clock)
    assert (await load_order(runtime, order["id"])).status == OrderStatus.EXPIRED
    charge = await buyer_confirms(runtime, gateway, order["id"])  # a stale browser tab

    response = await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    assert response.json()["outcome"] == "late_payment"
    await drain(runtime)  # the refund job, then the email and the fee

    expired = await load_order(runtime, order["id"])
    assert expired.status == OrderStatus.EXPIRED and expired.refund_reference is not None
    assert await ticket_count(runtime, order["id"]) == 0
    assert gateway.net_captured() == 0 and len(gateway.refunds) == 1
    [email] = await emails_for(runtime, order["id"])
    assert email.template == "late_payment_refunded"
    assert await entries_of(runtime, order["id"]) == sorted(
        [
            ("late_payment", 2 * PRICE),
            ("late_payment_refunded", 2 * PRICE),
            ("processing_fee", fake_fee(2 * PRICE)),
        ]
    )
    assert await books_of(runtime, organizer.id) == -fake_fee(2 * PRICE)


async def test_an_event_for_an_order_we_do_not_know_is_acknowledged_and_ignored(
    client: httpx.AsyncClient, runtime: Runtime, gateway: FakeGateway
) -> None:
    charge = await gateway.create_charge(
        ChargeRequest(2000, "USD", "someone-else", payment_method="pm_card_visa")
    )
    unknown = intent_event("payment_intent.succeeded", charge, metadata={"order_id": "nope"})

    response = await post_webhook(client, unknown)
    other_type = await post_webhook(client, {**unknown, "id": "evt_2", "type": "customer.created"})

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert (other_type.status_code, other_type.json()["outcome"]) == (200, "ignored")
    assert await webhook_events(runtime) == 2


async def test_the_buyer_fetches_the_client_secret_of_a_pending_order_only(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    _, headers = await auth_headers(client, runtime)
    order = (await buy(client, event.id, order_body(2), headers=headers)).json()
    _, stranger = await auth_headers(client, runtime)
    url = f"/api/orders/{order['id']}/payment-intent"

    mine = await client.post(url, headers=headers)
    as_guest = await client.post(url, params={"token": order["access_token"]})
    theirs = await client.post(url, headers=stranger)

    assert mine.status_code == 200, mine.text
    assert mine.json()["client_secret"] == order["payment"]["client_secret"]
    assert (mine.json()["amount"], mine.json()["currency"]) == ("100.00", "USD")
    assert as_guest.json()["client_secret"] == order["payment"]["client_secret"]
    assert theirs.status_code == 404
    charge = await buyer_confirms(runtime, gateway, order["id"])
    await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    paid = await client.post(url, headers=headers)
    assert paid.status_code == 409 and paid.json()["error"] == "order_not_payable"


async def test_concurrent_deliveries_of_one_event_apply_it_once(
    client: httpx.AsyncClient, runtime: Runtime, organizer: User, gateway: FakeGateway
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    succeeded = intent_event("payment_intent.succeeded", charge)

    responses = await asyncio.gather(*(post_webhook(client, succeeded) for _ in range(5)))

    assert {r.status_code for r in responses} == {200}
    assert Counter(r.json()["outcome"] for r in responses) == {"paid": 1, "duplicate": 4}
    assert await ticket_count(runtime, order["id"]) == 2
    assert await entries_of(runtime, order["id"]) == [("payment_captured", 2 * PRICE)]
    assert await webhook_events(runtime) == 1


async def test_a_fee_the_ledger_refuses_fails_its_job_at_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await buyer_confirms(runtime, gateway, order["id"])
    await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    async with runtime.unit_of_work() as uow:  # another fee already booked for the charge
        fee = ledger.Transfer(
            organizer.id, event.id, uuid.UUID(order["id"]), (charge.fee or 0) + 1, "USD", charge.id
        )
        await ledger.post(uow, ledger.Movement.PROCESSING_FEE, [fee])

    clock.advance(minutes=1)
    await drain(runtime)

    [job] = await jobs_of(runtime, RECORD_FEE_JOB)
    assert (job.state, job.attempt) == ("dead", 1)
    assert job.last_error is not None and "ledger_entry_conflict" in job.last_error
