"""An invoice or a credit note as a PDF (fpdf2, A4), from its stored snapshot only.

fpdf2's built-in fonts are Latin-1, so text outside it is replaced rather than allowed to fail
the email that carries the PDF.
"""

from __future__ import annotations

from admitone.billing.models import DocumentKind, Invoice
from admitone.billing.schemas import rate_totals
from admitone.core.money import Money
from admitone.core.tax_schemas import percent_text

TITLES = {DocumentKind.INVOICE.value: "INVOICE", DocumentKind.CREDIT_NOTE.value: "CREDIT NOTE"}


def render_invoice_pdf(invoice: Invoice, *, credits_number: str | None = None) -> bytes:
    """``invoice`` with its lines loaded; ``credits_number``: for a credit note, the number of
    the invoice it credits (all of it, or the part a refund gave back)."""
    # Imported when a PDF is made: fpdf2 is a heavy import a web worker rarely needs.
    from fpdf import FPDF  # noqa: PLC0415

    def money(amount: int) -> str:
        return f"{Money(amount, invoice.currency).to_decimal_string()} {invoice.currency}"

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{TITLES[invoice.kind].title()} {invoice.number}"))
    pdf.set_creator("admitone")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, TITLES[invoice.kind], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    header = [
        f"Number: {invoice.number}",
        f"Date: {invoice.issued_at:%Y-%m-%d}",
    ]
    if credits_number is not None:
        header.append(f"Credits invoice: {credits_number}")
    if invoice.status == "voided":
        header.append("VOIDED by a credit note")
    for line in header:
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(95, 5, "From", new_x="RIGHT", new_y="TOP")
    pdf.cell(0, 5, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    bill_to = [
        invoice.bill_to_company,
        invoice.bill_to_name,
        invoice.bill_to_address_line1,
        invoice.bill_to_address_line2,
        " ".join(p for p in (invoice.bill_to_postcode, invoice.bill_to_city) if p) or None,
        invoice.bill_to_country,
        f"VAT: {invoice.bill_to_vat_id}" if invoice.bill_to_vat_id else None,
    ]
    seller = [invoice.seller_name]
    rows = [line for line in bill_to if line]
    for index in range(max(len(rows), len(seller))):
        left = seller[index] if index < len(seller) else ""
        right = rows[index] if index < len(rows) else ""
        pdf.cell(95, 5, _latin1(left), new_x="RIGHT", new_y="TOP")
        pdf.cell(0, 5, _latin1(right), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    widths = (80, 15, 30, 30, 35)
    pdf.set_font("Helvetica", "B", 9)
    for width, title in zip(
        widths, ("Description", "Qty", "Unit net", "Tax", "Gross"), strict=True
    ):
        pdf.cell(width, 6, title, border="B", align="L" if title == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for item in invoice.lines:
        cells = (
            _latin1(item.description)[:60],
            str(item.quantity),
            money(item.unit_net),
            money(item.tax),
            money(item.gross),
        )
        for width, value, align in zip(widths, cells, "LRRRR", strict=True):
            pdf.cell(width, 6, value, align=align)
        pdf.ln()
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    for total in rate_totals(invoice):
        pdf.cell(
            155,
            5,
            f"Tax {percent_text(total.rate_bp)} %: net {money(total.net)}, tax",
            align="R",
        )
        pdf.cell(35, 5, money(total.tax), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    for label, amount in (
        ("Net", invoice.net_total),
        ("Tax", invoice.tax_total),
        ("Total", invoice.gross_total),
    ):
        if label == "Total":
            pdf.set_font("Helvetica", "B", 11)
        pdf.cell(155, 6, label, align="R")
        pdf.cell(35, 6, money(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
