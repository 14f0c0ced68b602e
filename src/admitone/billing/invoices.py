"""Issuing invoices and credit notes, and reading them.

An invoice is issued for a paid order, on the buyer's request or, when its organizer chose so,
by a job the payment enqueues. It copies the billing details, the seller and the lines as they
are then, and takes its number from the organizer's counter in the same transaction. The order
is held paid while that transaction runs (``ticketing_service.lock_if_paid``), so a cancel or a
refund either comes after it, and finds the invoice to credit, or before it, and the order is
no longer paid and gets none.

A cancel or a full refund of an invoiced order voids the invoice (one conditional UPDATE: one
winner) and issues the credit note for what it still held, in the transaction of that change. A
partial refund issues a credit note for what it gave back and leaves the invoice issued; its
lines and tax are split as ``_credit`` says, so the credit notes never exceed the invoice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from admitone.accounts import service as accounts_service
from admitone.activity import service as activity_service
from admitone.billing import emails, repository, topics
from admitone.billing.errors import BillingProfileNotFound, InvoiceNotFound, OrderNotInvoiceable
from admitone.billing.models import DocumentKind, DocumentStatus, Invoice, InvoiceLine, InvoiceMode
from admitone.billing.profiles import settings_for
from admitone.billing.schemas import InvoiceRequest
from admitone.core.actor import Actor
from admitone.core.billing_details import BillingDetails
from admitone.core.db import UnitOfWork
from admitone.core.errors import NotFound
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page
from admitone.core.tax import TaxRate, line_tax, split, taken_so_far
from admitone.events import service as events_service
from admitone.jobs import service as jobs_service
from admitone.ticketing import service as ticketing_service

ISSUE_JOB = "billing.issue_invoice"
CREDITING_CHANGES = frozenset({"cancelled", "refunded"})
PARTIAL_REFUND = "partially_refunded"
_BILL_TO = (
    "name",
    "company",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "country",
    "vat_id",
)


@dataclass(frozen=True, slots=True)
class Issued:
    invoice: Invoice
    created: bool  # False: the order's invoice already existed


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: a signed-in actor, or a guest holding an order's token."""

    actor: Actor
    order_token: str | None = None

    def buyer(self) -> ticketing_service.Viewer:
        return ticketing_service.Viewer(
            user_id=self.actor.uuid, is_staff=self.actor.is_staff, access_token=self.order_token
        )


# Asking for one


async def request_invoice(
    uow: UnitOfWork, viewer: Viewer, order_id: uuid.UUID, data: InvoiceRequest
) -> Issued:
    """The order's invoice, issued now if it has none. Someone else's order, or one that is not
    paid, is a 404; a second request answers the invoice the first one made."""
    order = await ticketing_service.order_for_viewer(uow, order_id, viewer.buyer(), tickets=False)
    existing = await repository.invoice_of_order(uow, order.id)
    if existing is not None:
        return Issued(existing, created=False)
    if order.status != ticketing_service.OrderStatus.PAID:
        raise OrderNotInvoiceable(details={"status": order.status})
    bill_to = await _bill_to(uow, viewer.actor, order, data)
    return await issue(uow, order.id, bill_to)


async def _bill_to(
    uow: UnitOfWork, actor: Actor, order: ticketing_service.Order, data: InvoiceRequest
) -> dict[str, str | None]:
    if data.billing is not None:
        return _details(data.billing)
    if data.billing_profile_id is not None:
        profile = None
        if actor.uuid is not None:
            profile = await repository.profile_of(uow, actor.uuid, data.billing_profile_id)
        if profile is None:
            raise BillingProfileNotFound(field="billing_profile_id")
        return {name: getattr(profile, name) for name in _BILL_TO}
    return await default_bill_to(uow, order)


async def default_bill_to(uow: UnitOfWork, order: ticketing_service.Order) -> dict[str, str | None]:
    """The buyer's default profile, or else the name the order was bought under."""
    if order.buyer_user_id is not None:
        profile = await repository.default_profile(uow, order.buyer_user_id)
        if profile is not None:
            return {name: getattr(profile, name) for name in _BILL_TO}
    return {name: None for name in _BILL_TO} | {"name": order.customer_name}


async def _asked_bill_to(uow: UnitOfWork, order: ticketing_service.Order) -> dict[str, str | None]:
    """Whom the invoice asked at checkout is made out to: the details as given, or the
    buyer's profile as it is now (a profile deleted since gives way to the default)."""
    asked = order.invoice_details or {}
    billing = asked.get("billing")
    if isinstance(billing, dict):
        return {name: billing.get(name) for name in _BILL_TO}
    profile_id = asked.get("billing_profile_id")
    if isinstance(profile_id, str) and order.buyer_user_id is not None:
        profile = await repository.profile_of(uow, order.buyer_user_id, uuid.UUID(profile_id))
        if profile is not None:
            return {name: getattr(profile, name) for name in _BILL_TO}
    return await default_bill_to(uow, order)


async def owns_profile(uow: UnitOfWork, user_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    """For ticketing's check of a profile named at checkout."""
    return await repository.profile_of(uow, user_id, profile_id) is not None


def _details(details: BillingDetails) -> dict[str, str | None]:
    dumped = details.model_dump()
    return {name: dumped[name] for name in _BILL_TO}


async def issue(uow: UnitOfWork, order_id: uuid.UUID, bill_to: Mapping[str, str | None]) -> Issued:
    """Issue the invoice of a paid order in the caller's transaction (see the module's
    docstring for why the order is held first)."""
    if not await ticketing_service.lock_if_paid(uow, order_id):
        raise OrderNotInvoiceable()
    # Read after the lock: a concurrent request for the same order waited for it, and now sees
    # the invoice that request made.
    existing = await repository.invoice_of_order(uow, order_id)
    if existing is not None:
        return Issued(existing, created=False)
    order = await ticketing_service.order_for_viewer(
        uow, order_id, ticketing_service.Viewer(is_staff=True), tickets=False
    )
    event = await events_service.get_event_snapshot(uow, order.event_id)
    seller = await accounts_service.get_user(uow, event.organizer_id)
    invoice = await _new_document(
        uow,
        kind=DocumentKind.INVOICE,
        organizer_id=event.organizer_id,
        order=order,
        seller_name=seller.name if seller is not None else "",
        bill_to=bill_to,
        credits=None,
    )
    invoice.lines = [
        InvoiceLine(
            id=new_uuid(),
            invoice_id=invoice.id,
            position=position,
            description=_describe(event.name, line),
            quantity=line.quantity,
            unit_net=_unit_net(line),
            # As the order line was sold, after its share of a coupon's discount: the invoice
            # adds up to what was paid, as the ledger does.
            net=line.net,
            tax_rate_bp=line.tax_rate_bp,
            tax_name=line.tax_name,
            tax=line.tax,
            gross=line.gross,
        )
        for position, line in enumerate(order.lines)
    ]
    _total(invoice)
    uow.session.add(invoice)
    await uow.flush()
    await activity_service.record(
        uow,
        "billing.invoice_issued",
        resource_type="invoice",
        resource_uuid=invoice.id,
        metadata=_metadata(invoice),
    )
    topics.publish_invoice(uow, invoice, topics.INVOICE_ISSUED)
    await emails.schedule(uow, invoice)
    return Issued(invoice, created=True)


async def _new_document(
    uow: UnitOfWork,
    *,
    kind: DocumentKind,
    organizer_id: uuid.UUID | None,
    order: ticketing_service.Order,
    seller_name: str,
    bill_to: Mapping[str, str | None],
    credits: Invoice | None,
) -> Invoice:
    now = uow.clock.now()
    year = now.year
    if organizer_id is None:
        raise NotFound("The event's organizer is gone; nobody can issue this.")
    settings = await settings_for(uow, organizer_id)
    prefix = (
        settings.invoice_prefix if kind is DocumentKind.INVOICE else settings.credit_note_prefix
    )
    sequence = await repository.next_number(uow, organizer_id, year, kind.value)
    return Invoice(
        id=new_uuid(),
        kind=kind.value,
        number=f"{prefix}-{year}-{sequence:06d}",
        year=year,
        sequence=sequence,
        status=DocumentStatus.ISSUED.value,
        organizer_id=organizer_id,
        buyer_user_id=order.buyer_user_id,
        order_id=order.id,
        event_id=order.event_id,
        credits_invoice_id=credits.id if credits is not None else None,
        currency=order.currency,
        net_total=0,
        tax_total=0,
        gross_total=0,
        seller_name=seller_name,
        **{f"bill_to_{name}": bill_to.get(name) for name in _BILL_TO},
        issued_at=now,
        voided_at=None,
    )


def _unit_net(line: ticketing_service.OrderLine) -> int:
    """One unit without tax, before any discount: an inclusive price has its tax taken out."""
    if not line.tax_inclusive or line.tax_rate_bp == 0:
        return line.unit_price
    return line_tax(line.unit_price, TaxRate(line.tax_name or "", line.tax_rate_bp, True)).net


def _describe(event_name: str, line: ticketing_service.OrderLine) -> str:
    """A ticket line names the event and tier, a product line the product and its options."""
    if line.tier_id is not None:
        text = f"{event_name} - {line.tier_name}"
    else:
        options = ", ".join(
            f"{name}: {value}" for name, value in sorted((line.options or {}).items())
        )
        text = f"{line.product_name} ({options})" if options else f"{line.product_name}"
    if line.discount_amount:
        text += " (discounted)"
    return text[:300]


def _total(invoice: Invoice) -> None:
    invoice.net_total = sum(line.net for line in invoice.lines)
    invoice.tax_total = sum(line.tax for line in invoice.lines)
    invoice.gross_total = sum(line.gross for line in invoice.lines)


def _metadata(invoice: Invoice) -> dict[str, object]:
    return {
        "invoice_uuid": invoice.id,
        "order_uuid": invoice.order_id,
        "invoice_number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "amount": invoice.gross_total,
        "currency": invoice.currency,
    }


# Reacting to orders (registered with ticketing, run in the transaction of the change)


async def on_order_change(uow: UnitOfWork, order: ticketing_service.Order, change: str) -> None:
    if change == "paid":
        await _maybe_issue_later(uow, order)
    elif change in CREDITING_CHANGES:
        await credit_order(uow, order)
    elif change == PARTIAL_REFUND:
        await credit_refunded(uow, order.id)


async def _maybe_issue_later(uow: UnitOfWork, order: ticketing_service.Order) -> None:
    """An organizer who invoices every paid order gets it by a job enqueued with the payment:
    the purchase's transaction never waits for the organizer's counter (a batch of purchases
    for many organizers would take their counters in any order, and could deadlock). A buyer
    who asked for one at checkout gets it the same way, whatever the organizer chose."""
    if order.invoice_details is None and not await _invoices_automatically(uow, order.event_id):
        return
    await jobs_service.enqueue(
        uow, ISSUE_JOB, {"order_id": str(order.id)}, unique_key=f"{ISSUE_JOB}:{order.id}"
    )


async def _invoices_automatically(uow: UnitOfWork, event_id: uuid.UUID) -> bool:
    """Read once per event and unit of work: a group commit pays dozens of one event's orders in
    one transaction, and two queries for each of them cost the on-sale a sixth of its rate."""
    known: dict[uuid.UUID, bool] = uow.session.info.setdefault("billing.invoices_automatically", {})
    if event_id not in known:
        organizer_id = await events_service.organizer_of(uow, event_id)
        settings = await repository.settings_of(uow, organizer_id)
        known[event_id] = (
            settings is not None and settings.invoice_mode == InvoiceMode.AUTOMATIC.value
        )
    return known[event_id]


async def issue_automatically(uow: UnitOfWork, order_id: uuid.UUID) -> Invoice | None:
    """The job's work: the order's invoice, unless it has one or is no longer paid."""
    order = await ticketing_service.order_for_viewer(
        uow, order_id, ticketing_service.Viewer(is_staff=True), tickets=False
    )
    if order.status != ticketing_service.OrderStatus.PAID:
        return None
    try:
        return (await issue(uow, order_id, await _asked_bill_to(uow, order))).invoice
    except OrderNotInvoiceable:
        return None  # cancelled meanwhile


async def credit_order(uow: UnitOfWork, order: ticketing_service.Order) -> Invoice | None:
    """The order is cancelled or refunded in full: a credit note for what its invoice still
    holds (all of it, or what partial refunds have not credited yet), which voids it."""
    invoice = await repository.invoice_of_order(uow, order.id)
    if invoice is None or invoice.status != DocumentStatus.ISSUED.value:
        return None
    credited = await repository.credited_amount(uow, invoice.id)
    return await _credit(uow, order, invoice, credited, invoice.gross_total - credited)


async def credit_refunded(uow: UnitOfWork, order_id: uuid.UUID) -> Invoice | None:
    """A partial refund: a credit note for what the order's refunds gave back and its
    invoice's credit notes have not credited yet. Runs while the refund holds the order's row,
    so two refunds of one order credit one after the other."""
    invoice = await repository.invoice_of_order(uow, order_id)
    if invoice is None or invoice.status != DocumentStatus.ISSUED.value:
        return None
    order = await ticketing_service.order_for_viewer(
        uow, order_id, ticketing_service.Viewer(is_staff=True), tickets=False
    )
    credited = await repository.credited_amount(uow, invoice.id)
    amount = min(order.refunded_amount, invoice.gross_total) - credited
    return await _credit(uow, order, invoice, credited, amount)


async def _credit(
    uow: UnitOfWork,
    order: ticketing_service.Order,
    invoice: Invoice,
    credited: int,
    amount: int,
) -> Invoice | None:
    """A credit note for ``amount`` (gross) of ``invoice``, of which ``credited`` was credited
    before. Its lines take the invoice's lines and their tax in proportion
    (``core.tax.split``, counted on what all credit notes took), so the credit notes of an
    invoice never credit more than any line, its tax or its rate held, and the one that
    credits the rest takes exactly what is left. Crediting the rest voids the invoice."""
    if amount <= 0:
        return None
    whole = amount == invoice.gross_total - credited
    if whole and not await repository.void(uow, invoice.id):
        return None  # another change of the order credited it first
    credit = await _new_document(
        uow,
        kind=DocumentKind.CREDIT_NOTE,
        organizer_id=invoice.organizer_id,
        order=order,
        seller_name=invoice.seller_name,
        bill_to={name: getattr(invoice, f"bill_to_{name}") for name in _BILL_TO},
        credits=invoice,
    )
    credit.currency = invoice.currency
    grosses = [line.gross for line in invoice.lines]
    shares = split(grosses, credited, amount)
    taken = taken_so_far(grosses, credited)
    credit.lines = []
    for line, share, before in zip(invoice.lines, shares, taken, strict=True):
        if share == 0:
            continue
        tax, net = split([line.tax, line.net], before, share)
        credit.lines.append(
            InvoiceLine(
                id=new_uuid(),
                invoice_id=credit.id,
                position=line.position,
                description=line.description
                if share == line.gross
                else f"{line.description} (part)"[:300],
                quantity=line.quantity,
                unit_net=line.unit_net,
                net=net,
                tax_rate_bp=line.tax_rate_bp,
                tax_name=line.tax_name,
                tax=tax,
                gross=share,
            )
        )
    _total(credit)
    uow.session.add(credit)
    await uow.flush()
    if whole:
        voided = await repository.get_invoice(uow, invoice.id)
        assert voided is not None
        await activity_service.record(
            uow,
            "billing.invoice_voided",
            resource_type="invoice",
            resource_uuid=voided.id,
            metadata=_metadata(voided),
        )
        topics.publish_invoice(uow, voided, topics.INVOICE_VOIDED)
    await activity_service.record(
        uow,
        "billing.credit_note_issued",
        resource_type="invoice",
        resource_uuid=credit.id,
        metadata=_metadata(credit),
    )
    topics.publish_invoice(uow, credit, topics.CREDIT_NOTE_ISSUED)
    await emails.schedule(uow, credit)
    return credit


# Reading


async def reachable(uow: UnitOfWork, viewer: Viewer, invoice_id: uuid.UUID) -> Invoice:
    """An invoice the actor may see, or one of the order whose token a guest holds."""
    invoice = await repository.visible_invoice(uow, viewer.actor, invoice_id)
    if invoice is None and viewer.order_token:
        invoice = await repository.get_invoice(uow, invoice_id)
        if invoice is not None and not await _token_opens(uow, invoice.order_id, viewer):
            invoice = None
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


async def _token_opens(uow: UnitOfWork, order_id: uuid.UUID, viewer: Viewer) -> bool:
    token_viewer = ticketing_service.Viewer(access_token=viewer.order_token)
    try:
        await ticketing_service.order_for_viewer(uow, order_id, token_viewer, tickets=False)
    except NotFound:
        return False
    return True


async def invoice_for_order(uow: UnitOfWork, viewer: Viewer, order_id: uuid.UUID) -> Invoice:
    """The order's invoice, for its buyer (or a guest with its token), its organizer and
    staff."""
    invoice = await repository.invoice_of_order(uow, order_id)
    if invoice is None:
        raise InvoiceNotFound()
    return await reachable(uow, viewer, invoice.id)


async def list_invoices(
    uow: UnitOfWork,
    actor: Actor,
    *,
    kind: DocumentKind | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Invoice]:
    """A buyer's own, an organizer's (issued and bought), staff every one; newest first."""
    return await repository.list_invoices(
        uow, actor, kind=kind.value if kind else None, limit=limit, cursor=cursor
    )


async def invoice_pdf(uow: UnitOfWork, invoice: Invoice) -> bytes:
    return await emails.pdf_of(uow, invoice)
