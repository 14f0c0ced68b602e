"""Each money movement posts one balanced entry on the right accounts, exactly once."""

from __future__ import annotations

import asyncio

import pytest

from admitone.activity.models import ActivityEntry
from admitone.ledger import service as ledger
from admitone.ledger.chart import EntryKind
from admitone.ledger.errors import EntryKeyConflict, InvalidAmount, UnbalancedEntry
from admitone.ledger.posting import Draft, Line, post
from admitone.ledger.service import Movement
from admitone.runtime import Runtime
from tests.activity.conftest import entries as activity_entries
from tests.ledger.conftest import (
    Sale,
    all_entries,
    gateway_balance,
    lines,
    record,
    ref,
    sale_accounts,
)


async def test_a_captured_payment_is_held_by_the_gateway_and_is_the_events_revenue(
    runtime: Runtime,
) -> None:
    sale = Sale()
    entry = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")

    assert (entry.kind, entry.amount, entry.currency) == ("payment_captured", 5000, "USD")
    assert (entry.order_id, entry.event_id, entry.gateway_ref) == (
        sale.order_id,
        sale.event_id,
        "pi_1",
    )
    assert await lines(runtime, entry) == [
        ("gateway_balance", 5000, 0),
        ("ticket_revenue", 0, 5000),
    ]
    assert await gateway_balance(runtime, sale) == 5000


async def test_a_processing_fee_is_an_expense_taken_out_of_the_gateway_balance(
    runtime: Runtime,
) -> None:
    sale = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    entry = await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")

    assert entry.kind == "processing_fee"
    assert await lines(runtime, entry) == [
        ("processing_fees", 175, 0),
        ("gateway_balance", 0, 175),
    ]
    assert await gateway_balance(runtime, sale) == 4825


async def test_a_refund_is_contra_revenue_paid_out_of_the_gateway_balance(
    runtime: Runtime,
) -> None:
    sale = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    entry = await record(runtime, Movement.REFUND, sale, 2000, "re_1")

    assert entry.kind == "refund"
    assert await lines(runtime, entry) == [("refunds", 2000, 0), ("gateway_balance", 0, 2000)]
    assert await gateway_balance(runtime, sale) == 3000


async def test_a_payment_after_expiry_is_owed_back_and_never_revenue(runtime: Runtime) -> None:
    sale = Sale()
    held = await record(runtime, Movement.LATE_PAYMENT, sale, 5000, "pi_late")
    assert await lines(runtime, held) == [
        ("gateway_balance", 5000, 0),
        ("refund_liability", 0, 5000),
    ]
    async with runtime.unit_of_work(readonly=True) as uow:
        summary = await ledger.event_summary(uow, sale.event_id)
    [usd] = summary.currencies
    assert (usd.revenue, usd.refund_liability, usd.net) == (0, 5000, 0)

    settled = await record(runtime, Movement.LATE_PAYMENT_REFUNDED, sale, 5000, "re_late")
    assert await lines(runtime, settled) == [
        ("refund_liability", 5000, 0),
        ("gateway_balance", 0, 5000),
    ]
    assert await gateway_balance(runtime, sale) == 0


async def test_a_replayed_webhook_posts_once_and_returns_the_first_entry(
    runtime: Runtime,
) -> None:
    sale = Sale()
    first = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    again = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")
    await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")

    assert again.id == first.id
    assert len(await all_entries(runtime)) == 2
    assert await gateway_balance(runtime, sale) == 4825
    assert len(await activity_entries(runtime, "billing.payment_captured")) == 1


@pytest.mark.parametrize("accounts_open", [False, True])
async def test_concurrent_replays_of_one_webhook_post_once(
    runtime: Runtime, accounts_open: bool
) -> None:
    """Five deliveries of the same webhook at once: they race to open the organizer's accounts
    (when it has none yet) or straight to the entry's key, and exactly one entry results."""
    sale = Sale()
    if accounts_open:
        await record(runtime, Movement.PAYMENT_CAPTURED, sale.another_order(), 1000, "pi_0")
    posted = await asyncio.gather(
        *(record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1") for _ in range(5))
    )

    assert len({entry.id for entry in posted}) == 1
    assert [e.gateway_ref for e in await all_entries(runtime)].count("pi_1") == 1
    assert await gateway_balance(runtime, sale) == 5000 + (1000 if accounts_open else 0)


async def test_a_replay_with_a_different_amount_is_a_conflict_not_a_second_entry(
    runtime: Runtime,
) -> None:
    sale = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    with pytest.raises(EntryKeyConflict):
        await record(runtime, Movement.PAYMENT_CAPTURED, sale, 4000, "pi_1")
    assert await gateway_balance(runtime, sale) == 5000


async def test_one_payment_is_either_revenue_or_owed_back_never_both(runtime: Runtime) -> None:
    sale = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    with pytest.raises(EntryKeyConflict):
        await record(runtime, Movement.LATE_PAYMENT, sale, 5000, "pi_1")
    assert await gateway_balance(runtime, sale) == 5000


@pytest.mark.parametrize("amount", [0, -100, True, 10**13])
async def test_an_amount_that_is_not_a_positive_number_of_minor_units_is_refused(
    runtime: Runtime, amount: int
) -> None:
    with pytest.raises(InvalidAmount):
        await record(runtime, Movement.PAYMENT_CAPTURED, Sale(), amount, ref())
    assert await all_entries(runtime) == []


async def test_an_unbalanced_entry_is_refused_by_the_service(runtime: Runtime) -> None:
    sale = Sale()
    async with runtime.unit_of_work() as uow:
        gateway, revenue = await sale_accounts(uow, sale)
        for lines_ in (
            (Line(gateway, debit=5000), Line(revenue, credit=4999)),
            (Line(gateway, debit=5000),),
            (Line(gateway, debit=5000, credit=5000), Line(revenue, credit=0)),
            (Line(gateway, debit=-5), Line(revenue, credit=-5)),
        ):
            draft = Draft(
                key=ref("bad"),
                kind=EntryKind.PAYMENT_CAPTURED,
                organizer_id=sale.organizer_id,
                currency="USD",
                lines=lines_,
            )
            with pytest.raises(UnbalancedEntry):
                await post(uow, draft)
    assert await all_entries(runtime) == []


async def test_a_reversal_is_a_new_mirror_entry_and_the_original_stays(
    runtime: Runtime,
) -> None:
    sale = Sale()
    original = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    async with runtime.unit_of_work() as uow:
        reversal = await ledger.reverse_entry(uow, original.id)
    async with runtime.unit_of_work() as uow:
        again = await ledger.reverse_entry(uow, original.id)

    assert again.id == reversal.id
    assert (reversal.kind, reversal.reverses_id, reversal.amount) == ("reversal", original.id, 5000)
    assert await lines(runtime, reversal) == [
        ("gateway_balance", 0, 5000),
        ("ticket_revenue", 5000, 0),
    ]
    assert await lines(runtime, original) == [
        ("gateway_balance", 5000, 0),
        ("ticket_revenue", 0, 5000),
    ]
    assert [e.kind for e in await all_entries(runtime)] == ["payment_captured", "reversal"]
    assert await gateway_balance(runtime, sale) == 0


async def test_the_ledger_has_no_way_to_change_or_delete_an_entry() -> None:
    public = {name for name in dir(ledger) if not name.startswith("_")}
    assert not {n for n in public if n.startswith(("update", "delete", "edit", "remove"))}


async def test_money_movements_are_in_the_activity_log_without_personal_data(
    runtime: Runtime,
) -> None:
    sale = Sale()
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")
    await record(runtime, Movement.REFUND, sale, 5000, "re_1")
    await record(runtime, Movement.LATE_PAYMENT, sale.another_order(), 3000, "pi_2")

    recorded: list[ActivityEntry] = await activity_entries(runtime)
    assert sorted((e.action, e.meta["kind"]) for e in recorded) == [
        ("billing.fee_recorded", "processing_fee"),
        ("billing.payment_captured", "late_payment"),
        ("billing.payment_captured", "ticket_sale"),
        ("billing.refund_issued", "refund"),
    ]
    [first] = [e for e in recorded if e.meta["kind"] == "ticket_sale"]
    assert (first.resource_type, first.resource_uuid) == ("order", sale.order_id)
    assert first.meta == {
        "order_uuid": str(sale.order_id),
        "event_uuid": str(sale.event_id),
        "amount": 5000,
        "currency": "USD",
        "kind": "ticket_sale",
    }
