"""What paying owes an order, for one order or a batch: its tickets, the ledger postings, the
announcement and the confirmation email (a job), in the transaction that marks it paid."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm.attributes import set_committed_value

from admitone.config import Settings
from admitone.core.actor import Actor, acting_as
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_secret
from admitone.core.money import Money
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.notifications import service as notifications_service
from admitone.ticketing import books, repository
from admitone.ticketing.access import order_access_token
from admitone.ticketing.models import Order, Ticket, TicketStatus
from admitone.ticketing.tickets_pdf import order_tickets_pdf
from admitone.ticketing.transitions import announce

CONFIRMATION_TEMPLATE = "order_confirmation"
CONFIRMATION_JOB = "ticketing.send_confirmation"
TICKET_CODE_BYTES = 16  # 128 bits


@dataclass(frozen=True, slots=True)
class Paid:
    """An order whose ``pending`` -> ``paid`` transition this transaction won."""

    order: Order
    charge_id: str | None  # None: nothing was charged (a free order)
    amount: int | None  # what the gateway took, when it says
    fee: int | None
    actor: Actor  # whose purchase it is, for the activity log


async def complete_paid(uow: UnitOfWork, paid: Sequence[Paid], now: datetime) -> None:
    """Tickets, ledger postings, announcement and confirmation email of orders just paid, in
    the caller's transaction."""
    issued = {one.order.id: new_tickets(one.order, now) for one in paid}
    uow.session.add_all([ticket for tickets in issued.values() for ticket in tickets])
    await uow.flush()
    captured = [
        books.Captured(
            one.order, one.charge_id, one.amount or one.order.total_amount, one.fee, one.actor
        )
        for one in paid
        if one.charge_id is not None and one.order.total_amount > 0
    ]
    if captured:
        await books.payments_captured(uow, captured)
    for one in paid:
        with acting_as(one.actor):
            await announce(uow, one.order, "paid")
    await schedule_confirmation(uow, *issued)
    for one in paid:
        # The order was current when its transition won, and the tickets just inserted are
        # all it has (a pending order has none): no need to read it again.
        set_committed_value(one.order, "tickets", issued[one.order.id])


def new_tickets(order: Order, now: datetime) -> list[Ticket]:
    """One valid ticket per admission the order's lines hold, each with its unguessable code."""
    return [
        Ticket(
            order_id=order.id,
            event_id=order.event_id,
            tier_id=line.tier_id,
            position=position,
            code=new_secret(TICKET_CODE_BYTES),
            status=TicketStatus.VALID.value,
            created_at=now,
        )
        for position, line in enumerate(
            line for line in order.lines if line.tier_id is not None for _ in range(line.quantity)
        )
    ]


async def schedule_confirmation(uow: UnitOfWork, *order_ids: uuid.UUID) -> None:
    """Enqueue the confirmation emails of orders just paid, in the caller's transaction, the one
    that marks them paid: an order and its confirmation commit or vanish together. The PDF and
    the email rows are made by the job, outside the purchase request."""
    await jobs_service.enqueue_many(
        uow,
        CONFIRMATION_JOB,
        [
            jobs_service.NewJob(
                {"order_id": str(order_id)}, unique_key=f"{CONFIRMATION_JOB}:{order_id}"
            )
            for order_id in order_ids
        ],
        queue="emails",
    )


async def send_confirmation(uow: UnitOfWork, settings: Settings, order_id: uuid.UUID) -> bool:
    """The confirmation job's work: render the tickets PDF and log the email (whose delivery is
    its own job). Idempotent: an order already confirmed is not emailed twice. True if this
    call created the email."""
    emails = await notifications_service.emails_about(uow, "order", order_id)
    if any(email.template == CONFIRMATION_TEMPLATE for email in emails):
        return False
    order = await repository.get_order(uow, order_id, tickets=True)
    if order.paid_at is None:
        return False  # never paid (the job outlived a rolled-back settlement): nothing to confirm
    event = await events_service.get_event_snapshot(uow, order.event_id)
    token = order_access_token(settings, order.id)
    pdf = order_tickets_pdf(order, event)
    total = Money(order.total_amount, order.currency).to_decimal_string()
    await notifications_service.send_email(
        uow,
        to=order.customer_email,
        template=CONFIRMATION_TEMPLATE,
        context={
            "name": order.customer_name,
            "event_name": event.name,
            "venue": event.venue,
            "starts_at": event.starts_at.isoformat(),
            "reference": order.reference,
            "quantity": order.quantity,
            "total": f"{total} {order.currency}",
            "order_url": (
                f"{settings.public_url.rstrip('/')}/orders/{order.reference}?token={token}"
            ),
        },
        attachments=[(f"tickets-{order.reference}.pdf", "application/pdf", pdf)],
        related_type="order",
        related_id=order.id,
    )
    return True
