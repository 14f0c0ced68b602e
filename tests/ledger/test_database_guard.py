"""The database itself refuses an unbalanced or altered entry, whoever writes it: these tests
bypass the service and write with SQLAlchemy Core and the ORM directly."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, insert, text, update
from sqlalchemy.exc import IntegrityError

from admitone.core.db import Database, UnitOfWork
from admitone.ledger.errors import AppendOnlyViolation
from admitone.ledger.models import JournalEntry, JournalLine, LedgerAccount
from admitone.ledger.service import Movement
from admitone.runtime import Runtime
from tests.ledger.conftest import Sale, all_entries, gateway_balance, record, sale_accounts

# The tables themselves: Core statements on them skip the ORM and its guards entirely.
ENTRIES = cast(Table, JournalEntry.__table__)
LINES = cast(Table, JournalLine.__table__)
ACCOUNTS = cast(Table, LedgerAccount.__table__)


def _header(uow: UnitOfWork, entry_id: uuid.UUID, sale: Sale, amount: int) -> dict[str, Any]:
    return {
        "id": entry_id,
        "key": f"manual:{entry_id}",
        "kind": "payment_captured",
        "organizer_id": sale.organizer_id,
        "currency": "USD",
        "amount": amount,
        "posted_at": uow.clock.now(),
    }


def _line(
    entry_id: uuid.UUID, position: int, account: uuid.UUID, debit: int, credit: int
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "entry_id": entry_id,
        "position": position,
        "account_id": account,
        "debit": debit,
        "credit": credit,
    }


async def _write(runtime: Runtime, sale: Sale, legs: list[tuple[int, int]], amount: int) -> None:
    """Lines then header in one transaction, as the service does, but with any figures."""
    async with runtime.unit_of_work() as uow:
        gateway, revenue = await sale_accounts(uow, sale)
        entry_id = uuid.uuid4()
        accounts = [gateway, revenue, revenue]
        for position, (debit, credit) in enumerate(legs):
            await uow.session.execute(
                insert(LINES).values(_line(entry_id, position, accounts[position], debit, credit))
            )
        await uow.session.execute(insert(ENTRIES).values(_header(uow, entry_id, sale, amount)))


async def test_a_correctly_written_entry_is_accepted(runtime: Runtime) -> None:
    sale = Sale()
    await _write(runtime, sale, [(5000, 0), (0, 5000)], 5000)
    assert await gateway_balance(runtime, sale) == 5000


@pytest.mark.parametrize(
    ("legs", "amount"),
    [
        ([(5000, 0), (0, 4999)], 5000),  # credits short
        ([(5000, 0), (0, 4999)], 4999),  # the header agrees with the short side
        ([(5000, 0), (0, 3000), (0, 3000)], 5000),  # credits over
        ([(5000, 0)], 5000),  # one line
        ([], 5000),  # no line at all
    ],
)
async def test_an_unbalanced_entry_cannot_be_written_past_the_service(
    runtime: Runtime, legs: list[tuple[int, int]], amount: int
) -> None:
    sale = Sale()
    with pytest.raises(IntegrityError, match="ledger_unbalanced_entry"):
        await _write(runtime, sale, legs, amount)
    assert await all_entries(runtime) == []
    assert await gateway_balance(runtime, sale) == 0


async def test_lines_left_without_their_entry_cannot_commit(runtime: Runtime) -> None:
    sale = Sale()
    with pytest.raises(IntegrityError):
        async with runtime.unit_of_work() as uow:
            gateway, _ = await sale_accounts(uow, sale)
            entry_id = uuid.uuid4()
            await uow.session.execute(insert(LINES).values(_line(entry_id, 0, gateway, 5000, 0)))
    assert await gateway_balance(runtime, sale) == 0


async def test_no_line_can_be_added_to_a_posted_entry(runtime: Runtime) -> None:
    sale = Sale()
    entry = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    with pytest.raises(IntegrityError, match="ledger_entry_sealed"):
        async with runtime.unit_of_work() as uow:
            gateway, _ = await sale_accounts(uow, sale)
            await uow.session.execute(insert(LINES).values(_line(entry.id, 9, gateway, 100, 0)))
    assert await gateway_balance(runtime, sale) == 5000


async def test_an_entry_cannot_mix_currencies(runtime: Runtime) -> None:
    sale = Sale()
    with pytest.raises(IntegrityError, match="ledger_unbalanced_entry"):
        async with runtime.unit_of_work() as uow:
            gateway, _ = await sale_accounts(uow, sale, "USD")
            _, revenue_eur = await sale_accounts(uow, sale, "EUR")
            entry_id = uuid.uuid4()
            await uow.session.execute(insert(LINES).values(_line(entry_id, 0, gateway, 500, 0)))
            await uow.session.execute(insert(LINES).values(_line(entry_id, 1, revenue_eur, 0, 500)))
            await uow.session.execute(insert(ENTRIES).values(_header(uow, entry_id, sale, 500)))


async def test_the_orm_cannot_write_a_header_before_its_lines(runtime: Runtime) -> None:
    """The natural ORM way (add everything, flush once) inserts the header first, which seals an
    entry without lines: refused."""
    sale = Sale()
    with pytest.raises(IntegrityError, match="ledger_unbalanced_entry"):
        async with runtime.unit_of_work() as uow:
            gateway, revenue = await sale_accounts(uow, sale)
            entry_id = uuid.uuid4()
            uow.session.add(JournalEntry(**_header(uow, entry_id, sale, 5000)))
            uow.session.add(JournalLine(**_line(entry_id, 0, gateway, 5000, 0)))
            uow.session.add(JournalLine(**_line(entry_id, 1, revenue, 0, 5000)))
            await uow.flush()


@pytest.mark.parametrize(
    "statement",
    [
        lambda entry: update(ENTRIES).where(ENTRIES.c.id == entry.id).values(amount=1),
        lambda entry: delete(ENTRIES).where(ENTRIES.c.id == entry.id),
        lambda entry: update(LINES).where(LINES.c.entry_id == entry.id).values(debit=1),
        lambda entry: delete(LINES).where(LINES.c.entry_id == entry.id),
        lambda entry: update(ACCOUNTS).values(currency="EUR"),
    ],
    ids=["update-entry", "delete-entry", "update-lines", "delete-lines", "update-account"],
)
async def test_posted_entries_cannot_be_changed_or_deleted_in_sql(
    runtime: Runtime, statement: Any
) -> None:
    sale = Sale()
    entry = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    with pytest.raises(IntegrityError, match="ledger_append_only"):
        async with runtime.unit_of_work() as uow:
            await uow.session.execute(statement(entry))
    assert await gateway_balance(runtime, sale) == 5000
    [kept] = await all_entries(runtime)
    assert kept.amount == 5000


async def test_the_orm_refuses_to_change_or_delete_an_entry(runtime: Runtime) -> None:
    sale = Sale()
    entry = await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    with pytest.raises(AppendOnlyViolation):
        async with runtime.unit_of_work() as uow:
            loaded = await uow.session.get(JournalEntry, entry.id)
            assert loaded is not None
            loaded.amount = 1
            await uow.flush()
    with pytest.raises(AppendOnlyViolation):
        async with runtime.unit_of_work() as uow:
            loaded = await uow.session.get(JournalEntry, entry.id)
            await uow.session.delete(loaded)
            await uow.flush()
    assert await gateway_balance(runtime, sale) == 5000


async def test_the_sealing_triggers_are_planned_on_indexes_whatever_the_statistics(
    postgres_url: str,
) -> None:
    # Statistics taken while the ledger was empty made their cached plans scans of every line
    # posted before: each purchase then cost more than the last.
    database = Database(postgres_url)
    try:
        async with database.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
                    "('ledger_check_entry_balanced', 'ledger_refuse_sealed_line')"
                )
            )
            settings = {name: config for name, config in rows}
    finally:
        await database.dispose()
    assert settings == {
        "ledger_check_entry_balanced": ["enable_seqscan=off"],
        "ledger_refuse_sealed_line": ["enable_seqscan=off"],
    }
