"""The SQL of billing. What a user can reach is scoped in the query itself (rule 8): someone
else's profile or invoice is simply not found."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from admitone.billing.models import (
    BillingProfile,
    BillingSettings,
    DocumentCounter,
    DocumentKind,
    DocumentStatus,
    Invoice,
)
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.pagination import Page, paginate


def _with_lines(stmt: Select[Invoice]) -> Select[Invoice]:
    return stmt.options(selectinload(Invoice.lines)).execution_options(populate_existing=True)


# Profiles


async def profiles_of(uow: UnitOfWork, user_id: uuid.UUID) -> list[BillingProfile]:
    rows = await uow.session.scalars(
        select(BillingProfile)
        .where(BillingProfile.user_id == user_id)
        .order_by(BillingProfile.created_at, BillingProfile.id)
    )
    return list(rows)


async def profile_of(
    uow: UnitOfWork, user_id: uuid.UUID, profile_id: uuid.UUID
) -> BillingProfile | None:
    return await uow.session.scalar(
        select(BillingProfile)
        .where(BillingProfile.id == profile_id, BillingProfile.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def default_profile(uow: UnitOfWork, user_id: uuid.UUID) -> BillingProfile | None:
    return await uow.session.scalar(
        select(BillingProfile).where(
            BillingProfile.user_id == user_id, BillingProfile.is_default.is_(True)
        )
    )


async def clear_default(uow: UnitOfWork, user_id: uuid.UUID, keep: uuid.UUID) -> None:
    await uow.session.execute(
        update(BillingProfile)
        .where(
            BillingProfile.user_id == user_id,
            BillingProfile.is_default.is_(True),
            BillingProfile.id != keep,
        )
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )


# Settings


async def settings_of(uow: UnitOfWork, organizer_id: uuid.UUID) -> BillingSettings | None:
    return await uow.session.get(BillingSettings, organizer_id)


# Numbers


async def next_number(uow: UnitOfWork, organizer_id: uuid.UUID, year: int, kind: str) -> int:
    """The next number of the organizer's ``kind`` in ``year``: the counter row is made if
    missing, then taken by one conditional UPDATE ... RETURNING that holds its lock until the
    caller's transaction ends. Concurrent issuers queue on that row, each sees the number the
    one before committed, and a rollback leaves the counter as it was: no gap, no duplicate."""
    connection = await uow.session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await uow.session.execute(
        insert(DocumentCounter)
        .values(organizer_id=organizer_id, year=year, kind=kind, last_number=0)
        .on_conflict_do_nothing(
            index_elements=[
                DocumentCounter.organizer_id,
                DocumentCounter.year,
                DocumentCounter.kind,
            ]
        )
    )
    number = await uow.session.scalar(
        update(DocumentCounter)
        .where(
            DocumentCounter.organizer_id == organizer_id,
            DocumentCounter.year == year,
            DocumentCounter.kind == kind,
        )
        .values(last_number=DocumentCounter.last_number + 1)
        .returning(DocumentCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    assert number is not None  # the row exists: inserted above or before
    return int(number)


# Invoices


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """Staff see every invoice; a user those they were billed and those they issued."""
    if actor.is_staff:
        return true()
    if actor.uuid is None:
        return false()
    return or_(Invoice.buyer_user_id == actor.uuid, Invoice.organizer_id == actor.uuid)


async def get_invoice(uow: UnitOfWork, invoice_id: uuid.UUID) -> Invoice | None:
    return await uow.session.scalar(_with_lines(select(Invoice).where(Invoice.id == invoice_id)))


async def visible_invoice(uow: UnitOfWork, actor: Actor, invoice_id: uuid.UUID) -> Invoice | None:
    return await uow.session.scalar(
        _with_lines(select(Invoice).where(Invoice.id == invoice_id, visible_to(actor)))
    )


async def invoice_of_order(uow: UnitOfWork, order_id: uuid.UUID) -> Invoice | None:
    return await uow.session.scalar(
        _with_lines(
            select(Invoice).where(
                Invoice.order_id == order_id, Invoice.kind == DocumentKind.INVOICE.value
            )
        )
    )


async def credited_amount(uow: UnitOfWork, invoice_id: uuid.UUID) -> int:
    """What the invoice's credit notes have credited so far (gross)."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Invoice.gross_total), 0)).where(
            Invoice.credits_invoice_id == invoice_id
        )
    )
    return int(total or 0)


async def list_invoices(
    uow: UnitOfWork, actor: Actor, *, kind: str | None, limit: int | None, cursor: str | None
) -> Page[Invoice]:
    stmt = _with_lines(select(Invoice).where(visible_to(actor)))
    if kind is not None:
        stmt = stmt.where(Invoice.kind == kind)
    return await paginate(
        uow.session,
        stmt,
        created_at=Invoice.issued_at,
        row_id=Invoice.id,
        limit=limit,
        cursor=cursor,
    )


async def void(uow: UnitOfWork, invoice_id: uuid.UUID) -> bool:
    """One conditional UPDATE: True for the one caller that voids the invoice."""
    done = await uow.session.scalar(
        update(Invoice)
        .where(Invoice.id == invoice_id, Invoice.status == DocumentStatus.ISSUED.value)
        .values(status=DocumentStatus.VOIDED.value, voided_at=uow.clock.now())
        .returning(Invoice.id)
        .execution_options(synchronize_session=False)
    )
    return done is not None


async def credit_notes_billed_to(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Invoice]:
    """Up to ``limit`` credit notes made out to ``user_id``, newest first, older than
    ``before``: the user's statement reads them beside the ledger's entries."""
    stmt = select(Invoice).where(
        Invoice.buyer_user_id == user_id, Invoice.kind == DocumentKind.CREDIT_NOTE.value
    )
    if before is not None:
        at, last_id = before
        stmt = stmt.where(
            or_(Invoice.issued_at < at, and_(Invoice.issued_at == at, Invoice.id < last_id))
        )
    rows = await uow.session.scalars(
        stmt.order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit)
    )
    return list(rows)


async def invoice_numbers_of_orders(
    uow: UnitOfWork, order_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The number of each order's invoice, for the orders that have one."""
    if not order_ids:
        return {}
    rows = await uow.session.execute(
        select(Invoice.order_id, Invoice.number).where(
            Invoice.order_id.in_(list(order_ids)), Invoice.kind == DocumentKind.INVOICE.value
        )
    )
    return {order_id: number for order_id, number in rows.all()}
