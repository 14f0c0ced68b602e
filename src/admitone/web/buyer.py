"""The buyer's pages: events, an event with live availability and its purchase form, an order
with its payment hold, test-card payment and tickets. Every rule is the services'."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from admitone.core.actor import current_actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import DomainError
from admitone.events import service as events_service
from admitone.events.topics import AVAILABILITY
from admitone.http.deps import AppRuntime, Purchases, StrictRateLimit, Uow
from admitone.realtime.sse import event_stream
from admitone.realtime.topics import registry
from admitone.runtime import Runtime
from admitone.ticketing import service as ticketing_service
from admitone.ticketing.errors import PaymentFailed
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.schemas import PurchaseOrder
from admitone.web import live
from admitone.web.forms import FieldErrors, domain_error, text, validation_errors
from admitone.web.routing import page_router
from admitone.web.sessions import Browser, BrowserState, browser, posted_form
from admitone.web.templating import money, render

router = page_router()

Reference = Annotated[str, Path(min_length=1, max_length=16)]
Token = Annotated[str | None, Query(max_length=200)]
Cursor = Annotated[str | None, Query(max_length=200)]
HOME_PAGE_SIZE = 24
MY_ORDERS_PAGE_SIZE = 50

# The fake gateway's test cards a buyer can pick (Stripe's names, so the same words work in
# Stripe's test mode).
TEST_CARDS = {
    "pm_card_visa": "Visa test card that is accepted (pm_card_visa)",
    "pm_card_chargeDeclined": "Test card that is declined (pm_card_chargeDeclined)",
}
DECLINES = {
    "card_declined": "Your card was declined. No money was taken.",
    "insufficient_funds": "Your card was declined for insufficient funds. No money was taken.",
    "expired_card": "Your card has expired. No money was taken.",
    "incorrect_cvc": "The card's security code is incorrect. No money was taken.",
    "processing_error": "Your bank could not process the card. No money was taken.",
    "timeout": (
        "The payment provider did not answer in time. If any money was taken, it is refunded."
    ),
}
_PURCHASE_FIELDS = {
    "customer_email": "customer_email",
    "order.customer_email": "customer_email",
    "customer_name": "customer_name",
    "order.customer_name": "customer_name",
    "items": "tickets",
    "order.items": "tickets",
    "order.quantity": "tickets",
}


@router.get("/")
async def home(request: Request, uow: Uow, state: BrowserState, cursor: Cursor = None) -> Response:
    page = await events_service.list_events(
        uow, current_actor(), limit=HOME_PAGE_SIZE, cursor=cursor
    )
    now = uow.clock.now()
    cards = []
    for detail in page.items:
        snapshot = detail.snapshot()
        view = events_service.availability(snapshot, now)
        prices = [tier.price for tier in snapshot.tiers]
        cards.append(
            {"event": snapshot, "availability": view, "from_price": min(prices, default=0)}
        )
    return render(request, state, "home.html.j2", {"cards": cards, "next": page.next_cursor})


@router.get("/events/{event_id}")
async def event_page(
    event_id: uuid.UUID, request: Request, uow: Uow, runtime: AppRuntime, state: BrowserState
) -> Response:
    detail = await events_service.get_event(uow, current_actor(), event_id)
    return _event_page(request, state, detail, runtime=runtime)


@router.get("/events/{event_id}/live")
async def live_availability(
    event_id: uuid.UUID, uow: Uow, runtime: AppRuntime, _: BrowserState
) -> StreamingResponse:
    """The event page's live part: its availability topic, rendered as HTML fragments for the
    htmx SSE extension. The present state goes first, so nothing between the page's render and
    this connection is missed."""
    viewer = current_actor()
    await events_service.get_event(uow, viewer, event_id)  # 404 for no such (visible) event
    names = await registry.authorize(uow, viewer, [AVAILABILITY.name(event_id=event_id)])

    async def current() -> bytes:
        async with runtime.unit_of_work(readonly=True) as read:
            try:
                view = await events_service.get_availability(read, viewer, event_id)
            except DomainError:
                return live.removed_events()
        return live.availability_events(view.as_message())

    return StreamingResponse(
        event_stream(
            lambda: runtime.bus.subscribe(names),
            keepalive=runtime.settings.sse_keepalive_seconds,
            render=live.render,
            current=current,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/events/{event_id}/purchase", dependencies=[Depends(browser), StrictRateLimit])
async def purchase(
    event_id: uuid.UUID,
    *,
    request: Request,
    uow: Uow,
    runtime: AppRuntime,
    purchases: Purchases,
    state: BrowserState,
) -> Response:
    """The one purchase path, as the API's: the order is placed and waits for the buyer to
    pay on its page (or is paid at once when it costs nothing)."""
    form = await posted_form(request, state)
    detail = await events_service.get_event(uow, current_actor(), event_id)
    tiers = detail.snapshot().tiers
    errors: FieldErrors = {}
    items: list[dict[str, Any]] = []
    for tier in tiers:
        raw = text(form, f"tier-{tier.id}").strip() or "0"
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
            errors[f"tier-{tier.id}"] = "Enter a whole number of tickets."
        elif int(raw) > 0:
            items.append({"tier_id": tier.id, "quantity": int(raw)})
    if not items and not errors:
        errors["tickets"] = "Choose at least one ticket."
    user = state.user
    entered = {
        "customer_name": text(form, "customer_name"),
        "customer_email": text(form, "customer_email"),
        "quantities": {str(t.id): text(form, f"tier-{t.id}") for t in tiers},
        "idempotency_key": text(form, "idempotency_key"),
    }
    try:
        # A signed-in buyer's own name and address are used as they are, as by the API.
        order = PurchaseOrder(
            customer_email=None if user else entered["customer_email"],
            customer_name=None if user else entered["customer_name"],
            items=items or None,
            # With no ticket chosen (already reported), a stand-in so that the name and email
            # are still checked and every mistake is shown at once.
            quantity=None if items else 1,
            idempotency_key=entered["idempotency_key"] or None,
        )
    except ValidationError as exc:
        errors = validation_errors(exc, _PURCHASE_FIELDS) | errors
    if errors:
        return _event_page(
            request, state, detail, runtime=runtime, errors=errors, entered=entered, status_code=422
        )
    email = user.email if user else order.customer_email
    name = user.name if user else order.customer_name
    assert email is not None and name is not None
    # The purchase runs its steps in transactions of their own: end what the request read.
    await uow.commit()
    try:
        result = await purchases.purchase(
            runtime.gateway,
            ticketing_service.PurchaseRequest(
                event_id=event_id,
                customer_email=email,
                customer_name=name,
                items=[(item["tier_id"], item["quantity"]) for item in items],
                idempotency_key=order.idempotency_key,
                buyer_user_id=user.id if user else None,
                buyer_confirms=True,
            ),
        )
    except DomainError as exc:
        if not exc.keeps_changes:
            await uow.rollback()
        detail = await events_service.get_event(uow, current_actor(), event_id)
        return _event_page(
            request,
            state,
            detail,
            runtime=runtime,
            errors=_purchase_errors(exc, items),
            entered=entered,
            status_code=exc.status_code,
        )
    token = None if user else result.access_token
    return state.apply(RedirectResponse(_order_url(result.order.reference, token), 303))


@router.get("/orders")
async def my_orders(
    request: Request, uow: Uow, state: BrowserState, cursor: Cursor = None
) -> Response:
    """A signed-in buyer's orders, newest first (a guest signs in first)."""
    if state.user is None:
        return state.apply(RedirectResponse("/login?next=/orders", 303))
    page = await ticketing_service.list_for_buyer(
        uow, state.user.id, limit=MY_ORDERS_PAGE_SIZE, cursor=cursor
    )
    return render(
        request, state, "my_orders.html.j2", {"orders": page.items, "next": page.next_cursor}
    )


@router.get("/orders/{reference}")
async def order_page(
    reference: Reference,
    *,
    request: Request,
    uow: Uow,
    runtime: AppRuntime,
    state: BrowserState,
    token: Token = None,
) -> Response:
    order = await ticketing_service.order_by_reference(uow, reference, _viewer(state, token))
    return await _order_page(request, state, uow, order, runtime=runtime, token=token)


@router.get("/orders/{reference}/payment")
async def payment_section(
    reference: Reference,
    *,
    request: Request,
    uow: Uow,
    runtime: AppRuntime,
    state: BrowserState,
    token: Token = None,
) -> Response:
    """The order page's payment part alone: what the page swaps in when its hold runs out."""
    order = await ticketing_service.order_by_reference(uow, reference, _viewer(state, token))
    return await _order_page(
        request, state, uow, order, runtime=runtime, token=token, only_payment=True
    )


@router.post("/orders/{reference}/pay", dependencies=[Depends(browser), StrictRateLimit])
async def pay(
    reference: Reference, request: Request, uow: Uow, runtime: AppRuntime, state: BrowserState
) -> Response:
    form = await posted_form(request, state)
    token = text(form, "token") or None
    viewer = _viewer(state, token)
    order = await ticketing_service.order_by_reference(uow, reference, viewer)
    method = text(form, "payment_method")
    if method not in TEST_CARDS:
        return await _order_page(
            request,
            state,
            uow,
            order,
            runtime=runtime,
            token=token,
            errors={"payment_method": "Choose a card."},
            status_code=422,
        )
    await uow.commit()  # the payment runs its steps in transactions of their own
    try:
        await ticketing_service.pay_order(
            runtime.unit_of_work,
            runtime.gateway,
            runtime.settings,
            order.id,
            viewer,
            payment_method=method,
        )
    except DomainError as exc:
        if not exc.keeps_changes:
            await uow.rollback()
        message = (
            DECLINES.get(str(exc.details.get("reason")), exc.message)
            if isinstance(exc, PaymentFailed)
            else exc.message
        )
        order = await ticketing_service.order_by_reference(uow, reference, viewer)
        return await _order_page(
            request,
            state,
            uow,
            order,
            runtime=runtime,
            token=token,
            errors={"payment_method": message},
            status_code=exc.status_code,
        )
    return state.apply(RedirectResponse(_order_url(reference, token), 303))


@router.get("/orders/{reference}/tickets.pdf")
async def tickets_pdf(
    reference: Reference, uow: Uow, state: BrowserState, token: Token = None
) -> Response:
    order = await ticketing_service.order_by_reference(uow, reference, _viewer(state, token))
    pdf = await ticketing_service.paid_tickets_pdf(uow, order)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="tickets-{order.reference}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# -- helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold:
    """A pending order's payment hold as the page shows it, judged by the server's clock: a
    page rendered after the deadline says the hold is over even before the expiry job ran."""

    deadline: datetime
    seconds_left: int

    @property
    def over(self) -> bool:
        return self.seconds_left <= 0

    @property
    def clock_text(self) -> str:
        minutes, seconds = divmod(max(self.seconds_left, 0), 60)
        return f"{minutes}:{seconds:02d}"


def _viewer(state: Browser, token: str | None) -> ticketing_service.Viewer:
    user = state.user
    return ticketing_service.Viewer(
        user_id=user.id if user else None, is_staff=state.is_staff, access_token=token
    )


def _order_url(reference: str, token: str | None, suffix: str = "") -> str:
    return f"/orders/{reference}{suffix}" + (f"?token={token}" if token else "")


def _event_page(
    request: Request,
    state: Browser,
    detail: events_service.EventDetail,
    *,
    runtime: Runtime,
    errors: FieldErrors | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    settings = runtime.settings
    snapshot = detail.snapshot()
    view = events_service.availability(snapshot, runtime.clock.now())
    by_id = {t.id: t for t in view.tiers}
    tiers = []
    for tier in snapshot.tiers:
        tier_view = by_id[tier.id]
        limit = min(
            snapshot.tier_remaining(tier),
            tier.max_per_order or settings.max_tickets_per_order,
            settings.max_tickets_per_order,
        )
        tiers.append({"tier": tier, "availability": tier_view, "max": limit})
    return render(
        request,
        state,
        "event.html.j2",
        {
            "event": snapshot,
            "description": detail.event.description,
            "availability": view,
            "tiers": tiers,
            "errors": errors or {},
            "entered": entered or {"quantities": {}},
            "idempotency_key": uuid.uuid4().hex,
            "max_per_order": settings.max_tickets_per_order,
        },
        status_code=status_code,
    )


def _purchase_errors(exc: DomainError, items: list[dict[str, Any]]) -> FieldErrors:
    tier_id = exc.details.get("tier_id")
    if tier_id is not None:
        return {f"tier-{tier_id}": exc.message}
    field = str(exc.details.get("field", ""))
    if field == "order.quantity" and len(items) == 1:  # how the service names a lone item
        return {f"tier-{items[0]['tier_id']}": exc.message}
    prefix = "order.items."
    if field.startswith(prefix) and field.endswith(".quantity"):
        index = field[len(prefix) : -len(".quantity")]
        if index.isdigit() and int(index) < len(items):
            return {f"tier-{items[int(index)]['tier_id']}": exc.message}
    return domain_error(exc, _PURCHASE_FIELDS)


async def _order_page(
    request: Request,
    state: Browser,
    uow: UnitOfWork,
    order: Order,
    *,
    runtime: Runtime,
    token: str | None,
    errors: FieldErrors | None = None,
    status_code: int = 200,
    only_payment: bool = False,
) -> Response:
    event = await events_service.get_event_snapshot(uow, order.event_id)
    now = runtime.clock.now()
    hold = (
        Hold(order.expires_at, math.ceil((order.expires_at - now).total_seconds()))
        if order.status == OrderStatus.PENDING
        else None
    )
    names = {line.tier_id: line.tier_name or "" for line in order.lines if line.tier_id is not None}
    tickets = [
        {
            "number": number,
            "code": ticket.code,
            "tier": names.get(ticket.tier_id, ""),
            "status": ticket.status,
            "qr": segno.make(ticket.code, error="m").svg_data_uri(scale=5, border=2),
        }
        for number, ticket in enumerate(order.tickets, start=1)
    ]
    context = {
        "order": order,
        "event": event,
        "hold": hold,
        "tickets": tickets,
        "token": token,
        "errors": errors or {},
        "test_cards": TEST_CARDS if runtime.gateway.name == "fake" else {},
        "total": money(order.total_amount, order.currency),
        "payment_url": _order_url(order.reference, token, "/payment"),
        "pdf_url": _order_url(order.reference, token, "/tickets.pdf"),
        "decline": DECLINES.get(order.failure_reason or ""),
    }
    template = "_payment.html.j2" if only_payment else "order.html.j2"
    return render(request, state, template, context, status_code=status_code)
