"""Helpers of the ledger tests: money movements recorded the way payments will record them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from admitone.core.db import UnitOfWork
from admitone.ledger import service as ledger
from admitone.ledger.accounts import account_for
from admitone.ledger.chart import AccountCode
from admitone.ledger.models import JournalEntry
from admitone.ledger.reports import LineView
from admitone.runtime import Runtime


@dataclass(frozen=True)
class Sale:
    """One order of one event of one organizer, with fresh gateway references."""

    organizer_id: uuid.UUID = field(default_factory=uuid.uuid4)
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    order_id: uuid.UUID = field(default_factory=uuid.uuid4)
    currency: str = "USD"

    def transfer(self, amount: int, gateway_ref: str, fee: int | None = None) -> ledger.Transfer:
        return ledger.Transfer(
            self.organizer_id,
            self.event_id,
            self.order_id,
            amount,
            self.currency,
            gateway_ref,
            fee,
        )

    def another_order(self) -> Sale:
        return Sale(self.organizer_id, self.event_id, uuid.uuid4(), self.currency)


async def sale_accounts(
    uow: UnitOfWork, sale: Sale, currency: str = "USD"
) -> tuple[uuid.UUID, uuid.UUID]:
    """The ids of the accounts a sale moves money between: the gateway's, and the revenue."""
    gateway = await account_for(uow, sale.organizer_id, currency, AccountCode.GATEWAY_BALANCE)
    revenue = await account_for(
        uow, sale.organizer_id, currency, AccountCode.TICKET_REVENUE, sale.event_id
    )
    return gateway.id, revenue.id


def ref(prefix: str = "pi") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


async def record(
    runtime: Runtime,
    movement: ledger.Movement,
    sale: Sale,
    amount: int,
    gateway_ref: str,
    *,
    fee: int | None = None,
) -> JournalEntry:
    """One money movement of ``sale``, in a transaction of its own, as payments record them."""
    async with runtime.unit_of_work() as uow:
        [entry] = await ledger.post(uow, movement, [sale.transfer(amount, gateway_ref, fee)])
    return entry


async def lines(runtime: Runtime, entry: JournalEntry) -> list[tuple[str, int, int]]:
    """(account code, debit, credit) of each line, in order."""
    async with runtime.unit_of_work(readonly=True) as uow:
        views: list[LineView] = await ledger.lines_of(uow, entry.id)
    return [(v.code, v.debit, v.credit) for v in views]


async def all_entries(runtime: Runtime) -> list[JournalEntry]:
    async with runtime.unit_of_work(readonly=True) as uow:
        stmt = select(JournalEntry).order_by(JournalEntry.posted_at, JournalEntry.key)
        return list((await uow.session.scalars(stmt)).all())


async def gateway_balance(runtime: Runtime, sale: Sale) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await ledger.gateway_balance(uow, sale.organizer_id, sale.currency)
