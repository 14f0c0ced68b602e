"""The provider's subscription events as billing applies them (a gateway that bills periods
itself, as Stripe does), given directly as ``SubscriptionEvent`` objects: replays, events out of
order, and events about a subscription billing does not know. Subscribing goes through a
stateful double of such a gateway."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import func, select

from admitone.billing import service as billing_service
from admitone.billing.models import SubscriptionCharge
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.ledger.models import JournalEntry
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import Charge, ChargeStatus
from admitone.payments.subscriptions import (
    GatewaySubscription,
    GatewaySubscriptionStatus,
    SubscriptionEvent,
    SubscriptionEventKind,
    SubscriptionRequest,
    apply_subscription_event,
)
from admitone.runtime import Runtime
from tests.support.subscriptions import charges, load, make_plan
from tests.support.users import Signed

Kind = SubscriptionEventKind


class PeriodBillingGateway(FakeGateway):
    """A provider that bills periods itself: it keeps its subscriptions, takes the first
    period's payment (or asks the buyer to confirm it) and reports the rest by events."""

    bills_periods = True

    def __init__(self, clock: FrozenClock, *, needs_buyer: bool = False) -> None:
        super().__init__()
        self.clock = clock
        self.needs_buyer = needs_buyer
        self.created: dict[str, GatewaySubscription] = {}
        self._numbers = count(1)

    async def create_subscription(self, request: SubscriptionRequest) -> GatewaySubscription:
        if request.idempotency_key in self.created:
            return self.created[request.idempotency_key]
        now = self.clock.now()
        number = next(self._numbers)
        charge = None
        status = GatewaySubscriptionStatus.INCOMPLETE
        if not self.needs_buyer:
            status = GatewaySubscriptionStatus.ACTIVE
            charge = Charge(
                id=f"ch_period_{number}",
                amount=request.plan.amount,
                currency=request.plan.currency,
                status=ChargeStatus.SUCCEEDED,
                idempotency_key=request.idempotency_key,
                fee=75,
            )
        made = GatewaySubscription(
            id=f"sub_period_{number}",
            status=status,
            current_period_start=now,
            current_period_end=now + timedelta(days=30),
            client_secret=f"pi_{number}_secret" if self.needs_buyer else None,
            latest_charge=charge,
        )
        self.created[request.idempotency_key] = made
        return made


async def subscribed(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed, **gateway: bool
) -> billing_service.Subscribed:
    plan = await make_plan(runtime, organizer.user.id, price=1500)
    return await billing_service.subscribe(
        runtime.unit_of_work,
        PeriodBillingGateway(clock, **gateway),
        subscriber.user,
        plan.id,
        "pm_card_visa",
    )


async def apply(
    runtime: Runtime, event: SubscriptionEvent, settings: Settings | None = None
) -> str:
    async with runtime.unit_of_work() as uow:
        return await apply_subscription_event(uow, event, settings or runtime.settings)


def event(kind: Kind, ref: str, created: datetime, **fields: object) -> SubscriptionEvent:
    return SubscriptionEvent(
        event_id=f"evt_{kind}_{created.timestamp()}",
        kind=kind,
        subscription_id=ref,
        created=created,
        **fields,  # type: ignore[arg-type]
    )


async def entry_count(runtime: Runtime) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


async def test_subscribing_takes_the_providers_subscription_and_first_payment(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber)
    sub = done.subscription
    assert (sub.status, sub.period_number, sub.gateway_subscription_id) == (
        "active",
        1,
        "sub_period_1",
    )
    [charge] = await charges(runtime, sub.id)
    assert (charge.state, charge.gateway_charge_id, charge.fee) == ("succeeded", "ch_period_1", 75)
    assert await entry_count(runtime) == 2  # the payment and its fee


async def test_a_first_payment_the_buyer_must_confirm_returns_its_client_secret(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber, needs_buyer=True)
    assert done.subscription.status == "incomplete"
    assert done.client_secret == "pi_1_secret"
    ref = "sub_period_1"
    now = clock.now()
    paid = event(
        Kind.INVOICE_PAID,
        ref,
        now,
        amount=1500,
        currency="eur",
        charge_id="ch_confirmed",
        invoice_id="in_1",
        current_period_start=now,
        current_period_end=now + timedelta(days=30),
    )
    assert await apply(runtime, paid) == "paid"
    after = await load(runtime, done.subscription.id)
    assert (after.status, after.period_number) == ("active", 1)


async def test_an_invoice_paid_books_its_period_exactly_once(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber)
    start = done.subscription.current_period_end
    assert start is not None
    clock.advance(days=30)
    paid = event(
        Kind.INVOICE_PAID,
        "sub_period_1",
        clock.now(),
        amount=1500,
        currency="eur",
        charge_id="ch_renewal",
        invoice_id="in_2",
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
    )
    assert await apply(runtime, paid) == "paid"
    # The same event replayed, and redelivered under another event id.
    assert await apply(runtime, paid) == "duplicate"
    assert await apply(runtime, replace(paid, event_id="evt_again")) == "duplicate"
    renewed = await load(runtime, done.subscription.id)
    assert (renewed.status, renewed.period_number) == ("active", 2)
    assert renewed.current_period_end == start + timedelta(days=30)
    rows = await charges(runtime, done.subscription.id)
    assert [(c.period_number, c.gateway_invoice_id) for c in rows] == [(1, None), (2, "in_2")]
    assert await entry_count(runtime) == 3  # the first payment, its fee and the renewal


async def test_a_failed_invoice_makes_it_past_due_and_an_older_update_changes_nothing(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber)
    earlier = clock.now() + timedelta(minutes=1)
    later = earlier + timedelta(minutes=5)
    failed = event(Kind.INVOICE_PAYMENT_FAILED, "sub_period_1", later, amount=1500)
    three_days = runtime.settings.model_copy(update={"subscription_grace_days": 3})
    assert await apply(runtime, failed, three_days) == "past_due"
    late = event(Kind.UPDATED, "sub_period_1", earlier, status=GatewaySubscriptionStatus.ACTIVE)
    assert await apply(runtime, late) == "stale"
    now = await load(runtime, done.subscription.id)
    assert now.status == "past_due"
    assert now.grace_until == clock.now() + timedelta(days=3)  # the setting's grace


async def test_updates_set_cancel_at_period_end_and_deleted_ends_it(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber)
    at = clock.now() + timedelta(minutes=1)
    updated = event(
        Kind.UPDATED,
        "sub_period_1",
        at,
        status=GatewaySubscriptionStatus.ACTIVE,
        cancel_at_period_end=True,
    )
    assert await apply(runtime, updated) == "updated"
    assert (await load(runtime, done.subscription.id)).cancel_at_period_end is True
    deleted = event(Kind.DELETED, "sub_period_1", at + timedelta(days=30))
    assert await apply(runtime, deleted) == "canceled"
    assert await apply(runtime, deleted) == "unchanged"
    ended = await load(runtime, done.subscription.id)
    assert ended.status == "canceled"


async def test_deleted_while_unpaid_expires_it(
    runtime: Runtime, clock: FrozenClock, organizer: Signed, subscriber: Signed
) -> None:
    done = await subscribed(runtime, clock, organizer, subscriber)
    at = clock.now()
    await apply(runtime, event(Kind.INVOICE_PAYMENT_FAILED, "sub_period_1", at))
    assert await apply(runtime, event(Kind.DELETED, "sub_period_1", at + timedelta(days=8))) == (
        "expired"
    )
    assert (await load(runtime, done.subscription.id)).status == "expired"


async def test_an_event_about_an_unknown_subscription_is_ignored(runtime: Runtime) -> None:
    now = datetime(2026, 6, 1, tzinfo=FrozenClock().now().tzinfo)
    assert await apply(runtime, event(Kind.DELETED, "sub_nobody", now)) == "ignored"
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(SubscriptionCharge)) == 0
