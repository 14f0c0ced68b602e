"""Thin HTTP layer of ticketing: purchase, orders, cancel, tickets PDF."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Response, status

from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.actor import STAFF_ROLES, current_actor
from admitone.core.db import OpenUnitOfWork, UnitOfWork
from admitone.core.errors import InvalidInput
from admitone.events import service as events_service
from admitone.http.deps import (
    AppRuntime,
    AppSettings,
    CurrentUser,
    Holds,
    OptionalUser,
    Purchases,
    StrictRateLimit,
    Uow,
    client_ip,
    public,
)
from admitone.http.params import URL_SAFE_PATTERN, Cursor, OrderToken, PageLimit
from admitone.http.pending_holds import PendingHolds, Refusal
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.payments.gateway import PaymentGateway
from admitone.ticketing import service
from admitone.ticketing.errors import InvalidIdempotencyKey, TooManyPendingOrders
from admitone.ticketing.models import OrderStatus
from admitone.ticketing.purchase.batching import PurchaseGroups
from admitone.ticketing.schemas import (
    CancelBody,
    CheckoutBody,
    OrderOut,
    OrderPage,
    PayBody,
    PaymentOut,
    PurchaseBody,
    PurchaseInvoice,
    PurchaseOut,
)

router = api_router(tags=["orders"])

CartToken = Annotated[
    str | None,
    Header(
        alias="X-Cart-Token",
        pattern=URL_SAFE_PATTERN,
        description="A guest's cart token, from the answer that made the cart.",
    ),
]

# Order references are short_reference()'s alphabet; lowercase is accepted (read aloud, typed).
Reference = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,16}$")]
IdempotencyKey = Annotated[str | None, Header(pattern=r"^[ -~]{1,255}$")]

# The purchase and the cart checkout are one pipeline behind two doors: same answers, same limit.
_PURCHASE_ROUTE: dict[str, Any] = {
    "status_code": status.HTTP_201_CREATED,
    "responses": {
        200: {"description": "A replay: the order this idempotency key already made"},
        **errors(402, 403, 404, 409, 422, 429, 503),
    },
    "dependencies": [StrictRateLimit],
}


@dataclass(frozen=True, slots=True)
class _PurchaseContext:
    """What the purchase pipeline takes from the request and the app, whichever route ran it."""

    request: Request
    response: Response
    uow: UnitOfWork
    open_uow: OpenUnitOfWork
    gateway: PaymentGateway
    purchases: PurchaseGroups
    settings: Settings
    holds: PendingHolds
    user: User | None


# async: FastAPI runs a plain function dependency in its thread pool, a hop on every purchase.
async def _purchase_context(
    *,
    request: Request,
    response: Response,
    uow: Uow,
    runtime: AppRuntime,
    purchases: Purchases,
    settings: AppSettings,
    holds: Holds,
    user: OptionalUser,
) -> _PurchaseContext:
    return _PurchaseContext(
        request=request,
        response=response,
        uow=uow,
        open_uow=runtime.unit_of_work,
        gateway=runtime.gateway,
        purchases=purchases,
        settings=settings,
        holds=holds,
        user=user,
    )


PurchaseContext = Annotated[_PurchaseContext, Depends(_purchase_context)]


def _viewer(user: User | None, token: str | None) -> service.Viewer:
    return service.Viewer(
        user_id=user.id if user else None,
        is_staff=user is not None and Role(user.role) in STAFF_ROLES,
        access_token=token,
    )


@router.post("/events/{event_id}/purchase", **_PURCHASE_ROUTE)
@public
async def purchase(
    event_id: uuid.UUID,
    body: PurchaseBody,
    context: PurchaseContext,
    idempotency_key: IdempotencyKey = None,
) -> PurchaseOut:
    """Buy tickets, signed in or as a guest. Without a payment method the fake gateway charges
    its default test card; a real gateway leaves the order pending with a payment
    intent to confirm. 402 when the payment fails: after a decline the order stays
    pending with its seats until it expires, to be paid with another card (``/pay``; a guest
    gets the order's token in the error's details); otherwise the capacity is back.
    429 ``too_many_pending_orders`` when the client's address already has as many orders (or
    seats) of this event waiting for payment as it may (``details.cap`` says which).
    403 ``membership_required`` for a members-only tier bought by anyone but a signed-in
    member of one of its plans."""
    order, user = body.order, context.user
    key = _idempotency_key(order.idempotency_key, idempotency_key)
    email, name = _buyer(order.customer_email, order.customer_name, user)
    items: list[tuple[uuid.UUID | None, int]] = (
        [(item.tier_id, item.quantity) for item in order.items]
        if order.items is not None
        else [(None, order.quantity or 0)]
    )
    purchase_request = service.PurchaseRequest(
        event_id=event_id,
        customer_email=email,
        customer_name=name,
        items=items,
        idempotency_key=key,
        payment_method=order.payment_method,
        buyer_user_id=user.id if user else None,
        coupon_code=order.coupon_code,
        products=[
            service.ProductItem(
                item.product_id, item.quantity, item.options, field=f"order.products.{index}"
            )
            for index, item in enumerate(order.products or ())
        ],
        invoice=await _invoice(context, order.invoice),
    )
    return await _run_purchase(purchase_request, context)


@router.post("/carts/{cart_id}/checkout", **_PURCHASE_ROUTE, tags=["shop"])
@public
async def checkout_cart(
    cart_id: uuid.UUID,
    body: CheckoutBody,
    context: PurchaseContext,
    idempotency_key: IdempotencyKey = None,
    x_cart_token: CartToken = None,
) -> PurchaseOut:
    """Check a cart out: its tickets and products become one order through the purchase
    pipeline (the same steps, rules and answers as ``/events/{id}/purchase``), and the cart is
    closed with the order, not before. A guest's cart is opened with its ``X-Cart-Token``.
    409 ``insufficient_stock`` names the cart line short of stock (``items.N``); 409
    ``cart_not_open`` once the cart is checked out (a replay with the same idempotency key
    answers its order, 200); 422 ``cart_empty``, ``cart_needs_tickets`` (an order is for an
    event: at least one ticket), ``cart_mixed_events``, ``product_not_sold_with_event``."""
    order, user = body.order, context.user
    email, name = _buyer(order.customer_email, order.customer_name, user)
    purchase_request = await service.checkout_request(
        context.uow,
        current_actor(),
        x_cart_token,
        cart_id,
        service.Buyer(
            customer_email=email,
            customer_name=name,
            user_id=user.id if user else None,
            payment_method=order.payment_method,
            coupon_code=order.coupon_code,
            idempotency_key=_idempotency_key(order.idempotency_key, idempotency_key),
            invoice=await _invoice(context, order.invoice),
        ),
    )
    return await _run_purchase(purchase_request, context)


def _idempotency_key(in_body: str | None, header: str | None) -> str | None:
    key = in_body
    if header is not None:
        if key is not None and key != header.strip():
            raise InvalidIdempotencyKey(field="order.idempotency_key")
        key = header.strip() or None
    return key


async def _invoice(
    context: _PurchaseContext, invoice: PurchaseInvoice | None
) -> dict[str, object] | None:
    """The invoice asked at checkout, as the order keeps it. A billing profile is checked here,
    once per request and only when one is named, so a purchase without one costs no query."""
    if invoice is None:
        return None
    if invoice.billing_profile_id is not None:
        await service.require_billing_profile(
            context.uow,
            context.user.id if context.user else None,
            invoice.billing_profile_id,
            field="order.invoice.billing_profile_id",
        )
    return invoice.as_sold()


def _buyer(email: str | None, name: str | None, user: User | None) -> tuple[str, str]:
    email = email or (user.email if user else None)
    name = name or (user.name if user else None)
    if email is None:
        raise InvalidInput("A guest purchase needs customer_email.", field="order.customer_email")
    if name is None:
        raise InvalidInput("A guest purchase needs customer_name.", field="order.customer_name")
    return email, name


async def _run_purchase(
    purchase_request: service.PurchaseRequest, context: _PurchaseContext
) -> PurchaseOut:
    """The purchase and cart checkout routes alike: the per-address pending caps, the pipeline,
    and the answer (201, or 200 for a replay)."""
    holds, user = context.holds, context.user
    event_id = purchase_request.event_id
    address = client_ip(context.request)
    seats = sum(quantity for _, quantity in purchase_request.items)
    # An out-of-range quantity is the purchase's to refuse, with its own code.
    counted = 0 < seats <= context.settings.max_tickets_per_order
    if counted and (refusal := await holds.check(address, event_id, seats)):
        raise _too_many_pending(refusal)
    # The purchase runs its steps in transactions of its own, none across the gateway call: end
    # what the request read so far (on SQLite a writer's transaction holds the write lock).
    await context.uow.commit()
    result = await context.purchases.purchase(context.gateway, purchase_request)
    if counted and result.created and result.order.status == OrderStatus.PENDING:
        refusal = await holds.hold(address, event_id, result.order.id, seats)
        if refusal is not None:
            # Another purchase from this address took the last place since the check: this
            # order gives its seats back at once rather than holding them past the cap. Its
            # buyer lets it go (as they may any pending order), not a manager forcing it.
            buyer = service.Viewer(
                user_id=user.id if user else None, access_token=result.access_token
            )
            await service.cancel_order(context.open_uow, context.gateway, result.order.id, buyer)
            raise _too_many_pending(refusal)
    if not result.created:
        context.response.status_code = status.HTTP_200_OK
    # A guest's replay proves only knowledge of the request, not of the order's secret: the
    # ticket codes (admission itself) stay behind the token the confirmation email carries.
    out = PurchaseOut.of(result.order, with_tickets=result.created or user is not None)
    out.access_token = result.access_token
    if result.client_secret and result.order.status == OrderStatus.PENDING:
        out.payment = PaymentOut(status="requires_action", client_secret=result.client_secret)
    return out


def _too_many_pending(refusal: Refusal) -> TooManyPendingOrders:
    return TooManyPendingOrders(refusal.cap, refusal.limit, refusal.retry_after)


@router.get("/orders", responses=errors(401, 422))
async def my_orders(
    user: CurrentUser, uow: Uow, limit: PageLimit = None, cursor: Cursor = None
) -> OrderPage:
    page = await service.list_for_buyer(uow, user.id, limit=limit, cursor=cursor)
    return OrderPage(
        data=[OrderOut.of(o, with_tickets=False) for o in page.items], next_cursor=page.next_cursor
    )


@router.get("/orders/by-reference/{reference}", responses=errors(404, 422))
@public
async def order_by_reference(
    reference: Reference,
    uow: Uow,
    user: OptionalUser,
    token: OrderToken = None,
) -> OrderOut:
    """A guest's way in: the reference and the token from the confirmation email."""
    return OrderOut.of(await service.order_by_reference(uow, reference, _viewer(user, token)))


@router.get("/orders/{order_id}", responses=errors(404, 422))
@public
async def get_order(
    order_id: uuid.UUID, uow: Uow, user: OptionalUser, token: OrderToken = None
) -> OrderOut:
    return OrderOut.of(await service.order_for_viewer(uow, order_id, _viewer(user, token)))


@router.get(
    "/orders/{order_id}/tickets.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **errors(404, 409, 422)},
)
@public
async def tickets_pdf(
    order_id: uuid.UUID, uow: Uow, user: OptionalUser, token: OrderToken = None
) -> Response:
    order = await service.order_for_viewer(uow, order_id, _viewer(user, token))
    pdf = await service.paid_tickets_pdf(uow, order)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{order.reference}.pdf"'},
    )


@router.post(
    "/orders/{order_id}/pay",
    responses=errors(402, 404, 409, 422, 503),
    dependencies=[StrictRateLimit],
)
@public
async def pay_order(
    order_id: uuid.UUID,
    body: PayBody,
    *,
    uow: Uow,
    runtime: AppRuntime,
    settings: AppSettings,
    holds: Holds,
    user: OptionalUser,
    token: OrderToken = None,
) -> OrderOut:
    """Confirm a pending order's payment intent with a payment method. 402 ``payment_failed``
    when the card is declined: the order stays pending with its seats until it expires, to be
    paid with another card; 409 ``order_not_payable`` once it is no longer pending."""
    await uow.commit()  # the payment's steps run in transactions of their own (see purchase)
    order = await service.pay_order(
        runtime.unit_of_work,
        runtime.gateway,
        settings,
        order_id,
        _viewer(user, token),
        payment_method=body.payment_method,
    )
    if order.status != OrderStatus.PENDING:
        await holds.release(order.id)
    return OrderOut.of(order)


@router.post("/orders/{order_id}/cancel", responses=errors(404, 409, 422, 503))
@public
async def cancel_order(
    order_id: uuid.UUID,
    *,
    uow: Uow,
    runtime: AppRuntime,
    holds: Holds,
    user: OptionalUser,
    body: CancelBody | None = None,
    token: OrderToken = None,
) -> OrderOut:
    """Cancel a pending order, or refund a paid one in full (once, however many cancels race).
    A buyer refunds within the event's refund policy (409 ``refund_window_closed`` or
    ``refunds_not_allowed`` past it); the event's organizer and staff can cancel any of its
    orders at any time with a ``reason_code`` (422 ``cancel_reason_required`` without one).
    Cancelling an order already being refunded joins that refund; one already cancelled,
    refunded, failed or expired answers 409 ``order_not_cancellable``."""
    await uow.commit()  # the cancel's steps run in transactions of their own (see purchase)
    order = await service.cancel_order(
        runtime.unit_of_work,
        runtime.gateway,
        order_id,
        _viewer(user, token),
        body.reason if body else None,
        reason_code=body.reason_code if body else None,
    )
    if order.status != OrderStatus.PENDING:
        await holds.release(order.id)
    return OrderOut.of(order)


@router.get("/events/{event_id}/orders", responses=errors(401, 404, 422))
async def event_orders(
    event_id: uuid.UUID, user: CurrentUser, uow: Uow, limit: PageLimit = None, cursor: Cursor = None
) -> OrderPage:
    """The orders of an event, for its organizer and staff (anyone else: 404)."""
    await events_service.managed_event_organizer(uow, current_actor(), event_id)
    page = await service.list_for_event(uow, event_id, limit=limit, cursor=cursor)
    return OrderPage(
        data=[OrderOut.of(o, with_tickets=False) for o in page.items], next_cursor=page.next_cursor
    )
