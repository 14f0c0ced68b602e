"""A payment and its gateway fee post together: one savepoint, both entries or neither, and a
replay of either key answered as if each had been posted alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from admitone.activity import service as activity_service
from admitone.ledger import service as ledger
from admitone.ledger.chart import EntryKind
from admitone.ledger.errors import EntryKeyConflict
from admitone.ledger.models import JournalEntry
from admitone.ledger.posting import Draft, Line, Posted, post_all
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


def keys(entries: list[JournalEntry]) -> list[str]:
    return sorted(entry.key for entry in entries)


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]).replace('"', ""))

    engine = runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


async def test_a_payment_and_its_fee_post_together_balanced(runtime: Runtime) -> None:
    sale = Sale()
    payment = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175)

    by_kind = {entry.kind: entry for entry in await all_entries(runtime)}
    assert by_kind.keys() == {"payment_captured", "processing_fee"}
    assert by_kind["payment_captured"].id == payment.id
    assert await lines(runtime, payment) == [
        ("gateway_balance", 5000, 0),
        ("ticket_revenue", 0, 5000),
    ]
    assert await lines(runtime, by_kind["processing_fee"]) == [
        ("processing_fees", 175, 0),
        ("gateway_balance", 0, 175),
    ]
    assert await gateway_balance(runtime, sale) == 4825
    recorded = await activity_entries(runtime)
    assert sorted((e.action, e.meta["kind"], e.meta["amount"]) for e in recorded) == [
        ("billing.fee_recorded", "processing_fee", 175),
        ("billing.payment_captured", "ticket_sale", 5000),
    ]


async def test_a_fresh_pair_costs_one_savepoint_and_one_insert_per_table(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = Sale()
    # Opens the accounts, whose ids are then known without a query.
    await record(runtime, Movement.PAYMENT_CAPTURED, sale.another_order(), 1000, ref("ch"), fee=30)
    recorded: list[str] = []

    async def record_activity(_uow: object, action: str, **_kwargs: object) -> None:
        recorded.append(action)

    # Only to see what is recorded, in which order: recording buffers its rows, which are
    # written at the commit, after the statements counted below.
    monkeypatch.setattr(activity_service, "record", record_activity)
    async with runtime.unit_of_work() as uow:
        await uow.session.execute(select(1))  # SQLite's BEGIN is not the ledger's either
        with statements(runtime) as seen:
            await ledger.post(uow, Movement.PAYMENT_CAPTURED, [sale.transfer(5000, "ch_1", 175)])

    assert seen == [
        "SAVEPOINT sa_savepoint_1",
        "INSERT INTO ledger_lines",
        "INSERT INTO ledger_entries",
        "RELEASE SAVEPOINT sa_savepoint_1",
    ]
    assert recorded == ["billing.payment_captured", "billing.fee_recorded"]
    assert len(await all_entries(runtime)) == 4


async def test_a_replayed_pair_posts_nothing_and_returns_the_entries_posted_first(
    runtime: Runtime,
) -> None:
    sale = Sale()
    first = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175)
    posted = await all_entries(runtime)
    again = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175)

    assert again.id == first.id
    assert [e.id for e in await all_entries(runtime)] == [e.id for e in posted]
    assert await gateway_balance(runtime, sale) == 4825
    assert len(await activity_entries(runtime)) == 2  # recorded the first time only


async def test_post_all_answers_a_replay_with_each_existing_entry(runtime: Runtime) -> None:
    sale = Sale()
    async with runtime.unit_of_work() as uow:
        gateway, revenue = await sale_accounts(uow, sale)
    drafts = [
        Draft(
            key=ref("manual"),
            kind=EntryKind.PAYMENT_CAPTURED,
            organizer_id=sale.organizer_id,
            currency="USD",
            lines=(Line(gateway, debit=amount), Line(revenue, credit=amount)),
            event_id=sale.event_id,
        )
        for amount in (300, 400)
    ]

    async def post_them() -> list[Posted]:
        async with runtime.unit_of_work() as uow:
            return await post_all(uow, drafts)

    first = await post_them()
    again = await post_them()

    assert [p.created for p in first] == [True, True]
    assert [p.created for p in again] == [False, False]
    assert [p.entry.id for p in again] == [p.entry.id for p in first]
    assert [p.entry.amount for p in again] == [300, 400]


@pytest.mark.parametrize("posted_first", ["fee", "payment"])
async def test_a_pair_whose_other_half_was_posted_alone_completes_it_once(
    runtime: Runtime, posted_first: str
) -> None:
    """The fee job may post the fee before a retried settlement posts the pair; a settlement that
    did not know the fee posts the payment alone, and a replayed webhook then carries both."""
    sale = Sale()
    if posted_first == "fee":
        await record(runtime, Movement.PROCESSING_FEE, sale, 175, "ch_1")
    else:
        await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1")
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175)
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175)

    assert keys(await all_entries(runtime)) == ["fee:ch_1", "payment:ch_1"]
    assert await gateway_balance(runtime, sale) == 4825
    recorded = await activity_entries(runtime)
    assert sorted(e.action for e in recorded) == [
        "billing.fee_recorded",
        "billing.payment_captured",
    ]


@pytest.mark.parametrize("conflicting", ["fee", "payment"])
async def test_a_conflicting_replay_of_one_half_writes_neither(
    runtime: Runtime, conflicting: str
) -> None:
    sale = Sale()
    if conflicting == "fee":
        await record(runtime, Movement.PROCESSING_FEE, sale, 175, "ch_1")
    else:
        await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1")
    before = await all_entries(runtime)

    async with runtime.unit_of_work() as uow:
        with pytest.raises(EntryKeyConflict):
            amount = 4000 if conflicting == "payment" else 5000
            fee = 200 if conflicting == "fee" else 175
            await ledger.post(uow, Movement.PAYMENT_CAPTURED, [sale.transfer(amount, "ch_1", fee)])
        # The caller goes on and commits: the half that did not conflict must not be in it.

    assert [e.id for e in await all_entries(runtime)] == [e.id for e in before]
    assert len(await activity_entries(runtime)) == 1


@pytest.mark.parametrize("fee_posted_first", [False, True])
async def test_concurrent_replays_of_a_pair_post_each_entry_once(
    runtime: Runtime, fee_posted_first: bool
) -> None:
    sale = Sale()
    await record(
        runtime, Movement.PAYMENT_CAPTURED, sale.another_order(), 1000, ref()
    )  # opens the accounts
    if fee_posted_first:
        await record(runtime, Movement.PROCESSING_FEE, sale, 175, "ch_1")
    posted = await asyncio.gather(
        *(record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "ch_1", fee=175) for _ in range(5))
    )

    assert len({entry.id for entry in posted}) == 1
    assert [k for k in keys(await all_entries(runtime)) if k.endswith(":ch_1")] == [
        "fee:ch_1",
        "payment:ch_1",
    ]
    assert await gateway_balance(runtime, sale) == 1000 + 4825
