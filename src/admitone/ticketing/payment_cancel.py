"""Cancelling the payment intent of an order that will not be paid.

A declined card leaves the intent open to another try, and the buyer's browser can confirm it at
any moment. So an order that leaves ``pending`` unpaid (expired, cancelled, failed) has its
intent cancelled at the gateway by a job enqueued with that change, never inside a transaction
(rule 4). The cancel can reveal that the money was taken first: the order is then paid if it
still holds its seats, or the money goes back through the one refund path (a late payment).

Expiry asks the gateway before it lets the seats go, so a payment that beat the deadline gets
its tickets instead of a refund.
"""

from __future__ import annotations

import uuid

import structlog

from admitone.config import Settings
from admitone.core.db import OpenUnitOfWork
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import Charge, ChargeStatus, PaymentGateway
from admitone.ticketing import expiry, refunds, repository
from admitone.ticketing.idempotency import cancel_key
from admitone.ticketing.models import OrderStatus
from admitone.ticketing.purchase import settle

log = structlog.get_logger(__name__)


class PaymentStillProcessing(Exception):
    """The gateway is still processing the payment and cannot cancel it yet: ask again later."""


async def cancel_payment(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, settings: Settings, order_id: uuid.UUID
) -> settle.SuccessResult | None:
    """The cancel job's work: cancel the order's intent; if it had succeeded, settle it. Raises
    ``GatewayError`` when the gateway fails, ``PaymentStillProcessing`` when it cannot cancel
    yet (the job retries either way)."""
    async with open_uow() as uow:
        intent = (await repository.get_order(uow, order_id, lines=False)).payment_reference
    if intent is None:
        return None
    charge = await gateway.cancel_charge(intent, idempotency_key=cancel_key(order_id))
    if charge.status is ChargeStatus.REQUIRES_ACTION:
        raise PaymentStillProcessing(intent)
    return await _settle_if_paid(open_uow, settings, order_id, charge)


async def expire_order(
    open_uow: OpenUnitOfWork, gateway: PaymentGateway, settings: Settings, order_id: uuid.UUID
) -> bool:
    """Expire a pending order past its deadline, its intent cancelled first; True if this call
    expired it. When the cancel finds the intent paid, the order is paid instead."""
    async with open_uow() as uow:
        order = await repository.get_order(uow, order_id, lines=False)
        due = order.status == OrderStatus.PENDING and order.expires_at <= uow.clock.now()
        intent = order.payment_reference
    if not due:
        return False
    cancelled = False
    if intent is not None:
        try:
            charge = await gateway.cancel_charge(intent, idempotency_key=cancel_key(order_id))
        except GatewayError as exc:
            # The seats are not held hostage to the gateway: the expiry goes on, and the
            # cancel job it enqueues retries.
            log.warning("payment_cancel_failed", order_id=str(order_id), reason=exc.code)
        else:
            if await _settle_if_paid(open_uow, settings, order_id, charge) is not None:
                return False
            # Not cancelled when the gateway is still processing it: the job will ask again.
            cancelled = charge.status is ChargeStatus.FAILED
    async with open_uow() as uow:
        return await expiry.expire_order(uow, order_id, payment_cancelled=cancelled)


async def _settle_if_paid(
    open_uow: OpenUnitOfWork, settings: Settings, order_id: uuid.UUID, charge: Charge
) -> settle.SuccessResult | None:
    if charge.status is not ChargeStatus.SUCCEEDED:
        return None
    async with open_uow() as uow:
        order = await repository.get_order(uow, order_id, lines=False)
        if charge.amount_refunded > 0 or (charge.amount, charge.currency.upper()) != (
            order.total_amount,
            order.currency,
        ):
            # Not the order's payment (another amount or currency, or partly refunded already):
            # it never pays the order, as a webhook would find; what is left of it goes back.
            log.warning("payment_not_settling_order", order_id=str(order_id), charge_id=charge.id)
            await refunds.refuse_payment(uow, order_id, charge)
            return None
        # Still pending, its seats held: paid. Closed: a late payment, refunded by its job.
        return await settle.record_success(uow, settings, order_id, settle.outcome_of(charge))
