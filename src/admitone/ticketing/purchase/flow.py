"""A purchase alone, step by step, each step in a short transaction of its own (rule 1): it is
given a unit-of-work factory and never holds a transaction across the gateway (rule 4).

Races end on unique indexes, not on luck: two requests with one idempotency key both reach the
insert, one wins, and the other answers with the winner's order; two different purchases of one
buyer for one event meet the one-pending-order index.
"""

from __future__ import annotations

import uuid

import structlog

from admitone.config import Settings
from admitone.core.actor import current_actor
from admitone.core.db import OpenUnitOfWork
from admitone.core.errors import Conflict, DomainError
from admitone.payments.gateway import CANCELED, PaymentGateway
from admitone.ticketing import refunds, repository
from admitone.ticketing.errors import (
    IdempotencyKeyReused,
    OrderNoLongerPayable,
    OrderNotCompleted,
    OrderNotPayable,
    PaymentFailed,
    PendingOrderExists,
    RefundFailed,
)
from admitone.ticketing.idempotency import buyer_key, charge_key
from admitone.ticketing.models import Order, OrderStatus
from admitone.ticketing.purchase import pay, settle
from admitone.ticketing.purchase.request import (
    PurchaseRequest,
    PurchaseResult,
    check_quantities,
    request_digest,
)
from admitone.ticketing.purchase.reserve import Collision, Placed, Reserving, reserve_orders
from admitone.ticketing.purchase.settle import PaymentOutcome
from admitone.ticketing.repository import Viewer

log = structlog.get_logger(__name__)


async def purchase(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, settings: Settings, request: PurchaseRequest
) -> PurchaseResult:
    """Reserve, pay and settle one order."""
    placed = await place(open_uow, settings, request, gateway_name=gateway.name)
    order = placed.order
    if not placed.created or order.status != OrderStatus.PENDING:
        return placed  # a replay, or a free order settled on the spot
    outcome = await pay.charge_order(open_uow, gateway, request, order)
    settled = await settle_payment(
        open_uow,
        gateway,
        settings,
        order.id,
        outcome,
        access_token=placed.access_token,
        placed=order,
    )
    return PurchaseResult(settled, True, placed.access_token, outcome.client_secret)


async def place(
    open_uow: OpenUnitOfWork,
    settings: Settings,
    request: PurchaseRequest,
    *,
    gateway_name: str | None = None,
) -> PurchaseResult:
    """Reserve one order, as a batch of one: ``pending`` with its capacity held (or ``paid`` at
    once when it costs nothing), or the answer a refusal owes."""
    # No look-ups first: a replay or a second pending order meets a unique index on insert,
    # and only the rare refusal pays for the reads below.
    refusal: DomainError | None
    try:
        async with open_uow() as uow:
            [answer] = await reserve_orders(
                uow, settings, [Reserving(request, gateway_name, current_actor())]
            )
    except Collision:
        refusal = None
    except DomainError as exc:
        refusal = exc
    else:
        if isinstance(answer, Placed):
            return PurchaseResult(answer.order, True, answer.access_token)
        refusal = answer
    wanted = check_quantities(request.items, settings.max_tickets_per_order)
    key = buyer_key(request.buyer_user_id, request.customer_email)
    async with open_uow() as uow:
        # A replay answers its order whatever happened since (another request won the index,
        # the event sold out or closed): the purchase it repeats went through.
        if request.idempotency_key:
            existing = await repository.find_by_idempotency_key(uow, key, request.idempotency_key)
            if existing is not None:
                return _replay(existing, request_digest(request, wanted))
        if refusal is not None:
            raise refusal
        pending = await repository.pending_order_for(uow, request.event_id, key)
        if pending is not None:
            raise _pending_exists(pending)
    # The order that held the index was settled or given up before the look-ups above.
    raise Conflict("The purchase collided with another one; please try again.")


async def settle_payment(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    outcome: PaymentOutcome,
    *,
    access_token: str | None = None,
    placed: Order | None = None,
) -> Order:
    """Apply the gateway's answer to a pending order. Raises ``PaymentFailed`` (402) after a
    decline (the order stays pending for another card) or after compensating a payment that
    cannot be retried or was not answered. ``placed``: the order as this flow placed it, so a
    success need not read it back."""
    if outcome.status == "succeeded":
        assert outcome.charge_id is not None
        return await _settle_success(
            open_uow,
            gateway,
            settings,
            order_id,
            outcome=outcome,
            access_token=access_token,
            placed=placed,
        )
    async with open_uow() as uow:
        if outcome.status == "requires_action":
            await repository.wait_for_payment(uow, order_id, outcome.charge_id)
            return await repository.get_order(uow, order_id, tickets=True)
        reason = outcome.reason or "payment_failed"
        details: dict[str, object] = {}
        if outcome.status == "failed" and outcome.charge_id is not None and reason != CANCELED:
            # Declined, but the payment intent takes another card (Stripe lets the buyer retry
            # it): the order keeps its seats until it expires, and then its intent is cancelled.
            await repository.wait_for_payment(uow, order_id, outcome.charge_id)
            order = await repository.get_order(uow, order_id, lines=False)
            if access_token is not None:
                # A guest pays the order again (``pay``) with its token: no other way to it yet.
                details["access_token"] = access_token
        else:
            order = await settle.fail_order(
                uow, order_id, reason, unknown=outcome.status == "unknown"
            )
        # Kept: the order waits for another card, or was compensated.
        raise PaymentFailed(
            _failure_message(reason),
            details={
                "reason": reason,
                "order_id": str(order.id),
                "reference": order.reference,
                **details,
            },
        )


async def _settle_success(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    *,
    outcome: PaymentOutcome,
    access_token: str | None,
    placed: Order | None,
) -> Order:
    result: settle.SuccessResult | None = None
    async with open_uow() as uow:
        try:
            result = await settle.record_success(
                uow, settings, order_id, outcome, access_token=access_token, placed=placed
            )
        except Exception:
            log.exception("settlement_failed", order_id=str(order_id))
            await uow.rollback()
    if result is None:
        # The money is in but the order could not be completed (its email could not be
        # enqueued, say). An order is never paid without its confirmation, and money is never
        # kept without an order: fail the order, give the seats back and refund in full.
        async with open_uow() as uow:
            order = await settle.fail_order(uow, order_id, "settlement_failed")
            await settle.owe_refund(uow, order_id, charge_id=outcome.charge_id)
        refunded = await _refund_now(open_uow, gateway, order_id)
        raise OrderNotCompleted(
            details={
                "order_id": str(order_id),
                "reference": order.reference,
                "refunded": refunded,
            }
        )
    if result.effect != "late":
        return result.order
    order = result.order
    refunded = await _refund_now(open_uow, gateway, order_id)
    raise OrderNoLongerPayable(
        details={
            "order_id": str(order_id),
            "reference": order.reference,
            "status": order.status,
            "refunded": refunded,
        }
    )


async def _refund_now(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, order_id: uuid.UUID
) -> bool:
    """Try the refund at once (the job scheduled with it retries if this fails)."""
    try:
        order = await refunds.complete_refund(open_uow, gateway, order_id)
    except RefundFailed:
        return False
    return order.refund_reference is not None


async def pay_order(
    open_uow: OpenUnitOfWork,
    gateway: PaymentGateway,
    settings: Settings,
    order_id: uuid.UUID,
    viewer: Viewer,
    *,
    payment_method: str,
) -> Order:
    """The buyer confirms the payment intent of a pending order with a payment method (what the
    browser does with Stripe.js), and the answer is settled as a purchase's is."""
    async with open_uow() as uow:
        order = await repository.order_for_viewer(uow, order_id, viewer, tickets=False)
        intent = order.payment_reference
        if order.status != OrderStatus.PENDING or intent is None:
            raise OrderNotPayable(details={"status": order.status, "reference": order.reference})
    # A guest pays with the token of their purchase: the email repeats it instead of a new one.
    token = viewer.access_token
    if token is not None and not repository.token_matches(order, token):
        token = None
    # A decline is recorded on the order (``updated_at`` moves), so the buyer's next try, even
    # with the same card, is a new request to the gateway rather than a replay of the decline;
    # a client resending the same try still shares its key.
    attempt = f"{payment_method}-{order.updated_at.timestamp():.6f}"
    outcome = await pay.ask(
        gateway.confirm_charge(
            intent,
            payment_method=payment_method,
            idempotency_key=f"{charge_key(order_id)}-confirm-{attempt}",
        ),
        charge_id=intent,
    )
    return await settle_payment(open_uow, gateway, settings, order_id, outcome, access_token=token)


def _replay(order: Order, digest: str) -> PurchaseResult:
    if order.request_fingerprint != digest:
        raise IdempotencyKeyReused(
            field="order.idempotency_key", details={"reference": order.reference}
        )
    return PurchaseResult(order, created=False)


def _pending_exists(order: Order) -> PendingOrderExists:
    return PendingOrderExists(
        f"You already have order {order.reference} for this event waiting for payment; "
        "pay or cancel it first.",
        details={"order_id": str(order.id), "reference": order.reference},
    )


def _failure_message(reason: str) -> str:
    if reason == "timeout":
        return (
            "The payment provider did not answer in time. The order was not completed and no "
            "payment is kept: anything charged is refunded."
        )
    return "The payment did not go through; nothing was charged."
