"""The email that carries an invoice or a credit note, sent by a job enqueued in the issuing
transaction: the document and its email commit or vanish together, and the PDF is made by the
job, outside the request that issued it."""

from __future__ import annotations

import uuid

from admitone.billing import repository
from admitone.billing.models import DocumentKind, Invoice
from admitone.billing.pdf import render_invoice_pdf
from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.core.money import Money
from admitone.jobs import service as jobs_service
from admitone.notifications import service as notifications_service
from admitone.ticketing import service as ticketing_service

SEND_JOB = "billing.send_document"
RELATED_TYPE = "invoice"
TEMPLATES = {
    DocumentKind.INVOICE.value: "invoice_issued",
    DocumentKind.CREDIT_NOTE.value: "credit_note_issued",
}


async def schedule(uow: UnitOfWork, invoice: Invoice) -> None:
    await jobs_service.enqueue(
        uow,
        SEND_JOB,
        {"invoice_id": str(invoice.id)},
        unique_key=f"{SEND_JOB}:{invoice.id}",
        queue="emails",
    )


async def pdf_of(uow: UnitOfWork, invoice: Invoice) -> bytes:
    credits_number = None
    if invoice.credits_invoice_id is not None:
        credited = await repository.get_invoice(uow, invoice.credits_invoice_id)
        credits_number = credited.number if credited is not None else None
    return render_invoice_pdf(invoice, credits_number=credits_number)


async def send(uow: UnitOfWork, settings: Settings, invoice_id: uuid.UUID) -> bool:
    """The job's work: the PDF made and the email logged (its delivery is a job of its own).
    Idempotent: a document already emailed is not emailed again. True if this call did."""
    emails = await notifications_service.emails_about(uow, RELATED_TYPE, invoice_id)
    if emails:
        return False
    invoice = await repository.get_invoice(uow, invoice_id)
    if invoice is None:
        return False  # the issue rolled back after the job was seen: nothing to send
    order = await ticketing_service.order_for_viewer(
        uow, invoice.order_id, ticketing_service.Viewer(is_staff=True), tickets=False
    )
    url = f"{settings.public_url.rstrip('/')}/api/invoices/{invoice.id}.pdf"
    if order.buyer_user_id is None:
        # A guest has no account: the link carries the order's token, as the order email does.
        url += f"?token={ticketing_service.order_access_token(settings, order.id)}"
    total = Money(invoice.gross_total, invoice.currency).to_decimal_string()
    await notifications_service.send_email(
        uow,
        to=order.customer_email,
        template=TEMPLATES[invoice.kind],
        context={
            "name": invoice.bill_to_name or invoice.bill_to_company or order.customer_name,
            "number": invoice.number,
            "reference": order.reference,
            "total": f"{total} {invoice.currency}",
            "document_url": url,
        },
        attachments=[(f"{invoice.number}.pdf", "application/pdf", await pdf_of(uow, invoice))],
        related_type=RELATED_TYPE,
        related_id=invoice.id,
    )
    return True
