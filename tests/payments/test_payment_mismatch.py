"""A payment is applied to its order only when it is for the order's amount in the order's
currency: otherwise the order stays unpaid, the payment goes back in full, and staff see why."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from admitone.accounts.models import User
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.ledger import service as ledger
from admitone.notifications.messages import render_email
from admitone.payment_settlement.reconciliation import reconcile
from admitone.payments.fake import FakeGateway, fake_fee
from admitone.payments.gateway import Charge
from admitone.runtime import Runtime
from admitone.ticketing.models import OrderStatus
from admitone.ticketing.refunds import REFUND_ORDER_JOB
from tests.payments.webhook_support import (  # noqa: F401 - fixtures
    activity_of,
    buyer_confirms,
    entries_of,
    intent_event,
    pending_order,
    post_webhook,
    settings_fixture,
)
from tests.support.reads import counters, jobs_of
from tests.ticketing.conftest import (  # noqa: F401 - fixtures
    emails_for,
    gateway_fixture,
    load_order,
    make_event,
    organizer_fixture,
    ticket_count,
)

TOTAL = 2 * 5000  # the order: two 50.00 USD tickets


async def paid_otherwise(
    runtime: Runtime, gateway: FakeGateway, order_id: str, *, amount: int, currency: str
) -> Charge:
    """The buyer pays the order's intent after its amount or currency was changed at the
    gateway (in its dashboard, say): a state only the gateway can reach."""
    charge = await buyer_confirms(runtime, gateway, order_id)
    changed = replace(charge, amount=amount, currency=currency, fee=fake_fee(amount))
    gateway._charges[charge.id] = changed
    return changed


WRONG_PAYMENTS = pytest.mark.parametrize(
    ("amount", "currency"),
    [(100, "USD"), (TOTAL + 1, "USD"), (TOTAL, "EUR")],
    ids=["too_little", "too_much", "other_currency"],
)


@WRONG_PAYMENTS
async def test_a_webhook_for_another_amount_or_currency_leaves_the_order_unpaid_and_refunds_it(  # noqa: PLR0917
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    amount: int,
    currency: str,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await paid_otherwise(runtime, gateway, order["id"], amount=amount, currency=currency)

    response = await post_webhook(client, intent_event("payment_intent.succeeded", charge))
    again = await post_webhook(client, intent_event("payment_intent.succeeded", charge))

    assert response.status_code == 200 and response.json()["outcome"] == "amount_mismatch"
    assert again.json()["outcome"] == "amount_mismatch"
    unpaid = await load_order(runtime, order["id"])
    assert (unpaid.status, unpaid.paid_at) == (OrderStatus.PENDING, None)
    assert await ticket_count(runtime, order["id"]) == 0
    assert await entries_of(runtime, order["id"]) == []
    [entry] = await activity_of(runtime, "payments.amount_mismatch")
    assert entry.resource_uuid == unpaid.id
    assert entry.meta == {
        "order_uuid": str(unpaid.id),
        "expected_amount": TOTAL,
        "received_amount": amount,
        "expected_currency": "USD",
        "received_currency": currency,
    }
    assert len(await jobs_of(runtime, REFUND_ORDER_JOB)) == 1

    await drain(runtime)  # the refund, outside the webhook's transaction

    [refund] = gateway.refunds_of(charge.id)
    assert (refund.amount, refund.currency) == (amount, currency)
    assert gateway.net_captured() == 0
    refunded = await load_order(runtime, order["id"])
    assert refunded.status == OrderStatus.PENDING and refunded.refund_reference == refund.id
    assert (await counters(runtime, event.id)).event == 2  # held until the order expires
    [email] = await emails_for(runtime, order["id"])
    assert email.template == "late_payment_refunded"
    # Never revenue: owed back and given back, in the payment's own currency.
    assert await entries_of(runtime, order["id"]) == sorted(
        [
            ("late_payment", amount),
            ("late_payment_refunded", amount),
            ("processing_fee", fake_fee(amount)),
        ]
    )
    async with runtime.unit_of_work(readonly=True) as uow:
        trial = await ledger.trial_balance(uow, organizer_id=organizer.id)
        assert trial.balanced, trial.unbalanced_books
        assert await ledger.gateway_balance(uow, organizer.id, currency) == -fake_fee(amount)


async def test_reconciliation_does_not_pay_an_order_with_a_payment_for_another_amount(
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await paid_otherwise(runtime, gateway, order["id"], amount=100, currency="USD")
    clock.advance(minutes=11)  # its webhook never came

    assert await reconcile(runtime) == {"amount_mismatch": 1}
    await drain(runtime)

    unpaid = await load_order(runtime, order["id"])
    assert unpaid.status == OrderStatus.PENDING and unpaid.refund_reference is not None
    assert await ticket_count(runtime, order["id"]) == 0
    assert [r.amount for r in gateway.refunds_of(charge.id)] == [100]
    assert len(await activity_of(runtime, "payments.amount_mismatch")) == 1
    clock.advance(minutes=11)
    assert await reconcile(runtime) == {"ignored": 1}  # refunded: nothing more to do
    clock.advance(minutes=5)
    await drain(runtime)  # the order expires as any unpaid one does
    assert (await load_order(runtime, order["id"])).status == OrderStatus.EXPIRED
    assert (await counters(runtime, event.id)).event == 0


@WRONG_PAYMENTS
async def test_expiry_that_finds_a_payment_for_another_amount_expires_the_order_and_refunds_it(  # noqa: PLR0917
    client: httpx.AsyncClient,
    runtime: Runtime,
    organizer: User,
    gateway: FakeGateway,
    clock: FrozenClock,
    amount: int,
    currency: str,
) -> None:
    event = await make_event(runtime, organizer)
    order = await pending_order(client, event.id)
    charge = await paid_otherwise(runtime, gateway, order["id"], amount=amount, currency=currency)
    clock.advance(minutes=16)  # its webhook never came: expiry asks the gateway first

    await drain(runtime)

    expired = await load_order(runtime, order["id"])
    assert expired.status == OrderStatus.EXPIRED and expired.refund_reference is not None
    assert await ticket_count(runtime, order["id"]) == 0
    assert [r.amount for r in gateway.refunds_of(charge.id)] == [amount]
    assert (await counters(runtime, event.id)).event == 0


@pytest.mark.parametrize(
    ("status", "says"),
    [("pending", "did not match the order's total"), ("expired", "after the order had\nexpired")],
)
def test_the_buyer_is_told_why_the_payment_went_back(status: str, says: str) -> None:
    context = {
        "name": "Ada",
        "event_name": "Concert",
        "reference": "ABC123",
        "status": status,
        "amount": "1.00 USD",
    }
    email = render_email("late_payment_refunded", context)
    assert says in email.text
    assert says.replace("\n", " ") in email.html
    assert "refunded it in full: 1.00 USD" in email.text
