"""The gateway's fee on a subscription's period paid at the provider (a Stripe renewal): its
invoice event names neither the payment nor its fee. A job, after the event's commit, asks the
gateway for the subscription's latest invoice's payment with its fee and posts it once, keyed
as the payment was (``gateway_ref``), as a fee posted with the payment is."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from admitone.billing.models import Subscription, SubscriptionCharge
from admitone.core.db import UnitOfWork
from admitone.jobs import service as jobs_service
from admitone.ledger import service as ledger

RECORD_FEE_JOB = "billing.record_subscription_fee"


async def fee_later(
    uow: UnitOfWork, subscription: Subscription, *, invoice_id: str, gateway_ref: str
) -> None:
    await jobs_service.enqueue(
        uow,
        RECORD_FEE_JOB,
        {
            "subscription_id": str(subscription.id),
            "invoice_id": invoice_id,
            "gateway_ref": gateway_ref,
        },
        unique_key=f"{RECORD_FEE_JOB}:{gateway_ref}",
    )


async def remote_id_of(uow: UnitOfWork, subscription_id: uuid.UUID) -> str | None:
    return await uow.session.scalar(
        select(Subscription.gateway_subscription_id).where(Subscription.id == subscription_id)
    )


async def record(
    uow: UnitOfWork,
    subscription_id: uuid.UUID,
    *,
    invoice_id: str,
    gateway_ref: str,
    fee: int,
    currency: str,
) -> None:
    charge = await uow.session.scalar(
        select(SubscriptionCharge).where(
            SubscriptionCharge.subscription_id == subscription_id,
            SubscriptionCharge.gateway_invoice_id == invoice_id,
        )
    )
    subscription = await uow.session.get(Subscription, subscription_id)
    if charge is None or subscription is None or fee <= 0:
        return  # a zero fee is no movement; the ledger refuses an empty entry
    charge.fee = fee
    await ledger.subscription_fee(
        uow,
        ledger.SubscriptionMoney(
            organizer_id=subscription.organizer_id,
            subscription_id=subscription.id,
            amount=charge.amount,
            currency=currency.upper(),
            gateway_ref=gateway_ref,
        ),
        fee,
    )
