"""The tickets of an order as a PDF (segno + fpdf2): one A6 page per admission, with its QR.

Pure functions of their input; the callers read the rows. fpdf2's built-in fonts are Latin-1,
so text outside it is replaced rather than allowed to fail an order's confirmation.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from admitone.events.service import EventSnapshot
    from admitone.ticketing.models import Order


@dataclass(frozen=True, slots=True)
class TicketPrint:
    code: str
    tier_name: str
    status: str = "valid"


@dataclass(frozen=True, slots=True)
class OrderPrint:
    reference: str
    customer_name: str
    event_name: str
    venue: str
    starts_at: datetime
    timezone: str
    tickets: Sequence[TicketPrint]


def order_tickets_pdf(order: Order, event: EventSnapshot) -> bytes:
    """The PDF of a paid order's tickets (its lines and tickets loaded), as sent in its
    confirmation and served by the API."""
    names = {line.tier_id: line.tier_name or "" for line in order.lines if line.tier_id is not None}
    return render_tickets_pdf(
        OrderPrint(
            reference=order.reference,
            customer_name=order.customer_name,
            event_name=event.name,
            venue=event.venue,
            starts_at=event.starts_at,
            timezone=event.timezone,
            tickets=[TicketPrint(t.code, names[t.tier_id], t.status) for t in order.tickets],
        )
    )


def render_tickets_pdf(order: OrderPrint) -> bytes:
    # Imported when a PDF is made: fpdf2 with Pillow and fontTools is 40 MB of a web worker,
    # which makes one only when a buyer downloads tickets or, with the job worker in-process,
    # when it makes its first confirmation.
    from fpdf import FPDF  # noqa: PLC0415

    pdf = FPDF(format=(105, 148))  # A6 in mm
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(_latin1(f"Tickets {order.reference}"))
    pdf.set_creator("admitone")
    when = _local_time(order.starts_at, order.timezone)
    count = len(order.tickets)
    for number, ticket in enumerate(order.tickets, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 7, _latin1(order.event_name), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin1(f"{order.venue}\n{when}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.image(_qr_png(ticket.code), x=(pdf.w - 60) / 2, w=60, h=60)
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 5, _latin1(ticket.tier_name), new_x="LMARGIN", new_y="NEXT", align="C")
        pdf.set_font("Helvetica", "", 8)
        lines = [
            f"Ticket {number} of {count} - order {order.reference}",
            _latin1(order.customer_name),
            ticket.code,
        ]
        if ticket.status != "valid":
            lines.append("VOID - this ticket is no longer valid")
        for line in lines:
            pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT", align="C")
    return bytes(pdf.output())


def _qr_png(code: str) -> io.BytesIO:
    import segno  # noqa: PLC0415 - with fpdf2, when a PDF is made

    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def _local_time(moment: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return f"{local:%A %d %B %Y, %H:%M} ({timezone})"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
