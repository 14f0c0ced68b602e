"""The saved reference to the provider's customer (which holds the buyer's name and email) goes
with the account. Processed webhook events name orders and outcomes only: kept."""

from __future__ import annotations

from sqlalchemy import delete

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register
from admitone.payments.models import PaymentCustomer


async def erase_customer(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    rows = await uow.session.execute(
        delete(PaymentCustomer).where(PaymentCustomer.user_id == subject.user_id)
    )
    erasure.count(erasure.deleted, "payment_customers", rows.rowcount)  # type: ignore[attr-defined]


register("payments", {"payment_customers", "webhook_events"}, erase_customer)
