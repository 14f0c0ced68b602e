"""What billing holds about a deleted account. Billing profiles go with it. Issued invoices and
credit notes keep their snapshot (tax law requires them as issued) and lose only the account
link. Live subscriptions end now, in the deletion's transaction; the provider is told by a job
after the commit (no network call inside a transaction), with the same idempotency key a
cancel uses. A seller's plans must be removed or handed over first."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select, update

from admitone.billing import subscriptions
from admitone.billing.models import (
    LIVE_STATES,
    BillingProfile,
    Invoice,
    Plan,
    Subscription,
    SubscriptionStatus,
)
from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, UserOwnsOrganizerData, register
from admitone.jobs import service as jobs_service
from admitone.payments.gateway import PaymentGateway
from admitone.payments.subscriptions import SubscriptionGateway

CANCEL_AT_GATEWAY_JOB = "billing.cancel_subscription_at_gateway"


async def erase_billing(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    if await uow.session.scalar(select(exists().where(Plan.organizer_id == subject.user_id))):
        raise UserOwnsOrganizerData(details={"domain": "billing"})
    profiles = await uow.session.execute(
        delete(BillingProfile).where(BillingProfile.user_id == subject.user_id)
    )
    erasure.count(erasure.deleted, "billing_profiles", profiles.rowcount)  # type: ignore[attr-defined]
    invoices = await uow.session.execute(
        update(Invoice)
        .where(Invoice.buyer_user_id == subject.user_id)
        .values(buyer_user_id=None)
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.kept, "invoices", invoices.rowcount)  # type: ignore[attr-defined]
    live = await uow.session.scalars(
        select(Subscription)
        .where(Subscription.user_id == subject.user_id, Subscription.status.in_(LIVE_STATES))
        .order_by(Subscription.id)
        .with_for_update()
    )
    for subscription in live.all():
        await subscriptions.become(
            uow,
            subscription,
            SubscriptionStatus.CANCELED,
            action="canceled",
            reason="account_deleted",
        )
        erasure.count(erasure.anonymised, "subscriptions_cancelled", 1)
        if subscription.gateway_subscription_id is not None:
            await jobs_service.enqueue(
                uow,
                CANCEL_AT_GATEWAY_JOB,
                {"subscription_id": str(subscription.id)},
                unique_key=f"{CANCEL_AT_GATEWAY_JOB}:{subscription.id}",
            )
            erasure.irreversible.append("subscription_cancelled_at_gateway")
    unlinked = await uow.session.execute(
        update(Subscription)
        .where(Subscription.user_id == subject.user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.kept, "subscriptions", unlinked.rowcount)  # type: ignore[attr-defined]


async def remote_id_of(uow: UnitOfWork, subscription_id: uuid.UUID) -> str | None:
    return await uow.session.scalar(
        select(Subscription.gateway_subscription_id).where(Subscription.id == subscription_id)
    )


async def tell_gateway(gateway: PaymentGateway, subscription_id: uuid.UUID, remote_id: str) -> None:
    if isinstance(gateway, SubscriptionGateway):
        await gateway.cancel_subscription(
            remote_id,
            at_period_end=False,
            # The key a cancel "now" uses: a staff cancel racing this one moves nothing twice.
            idempotency_key=f"subscription-{subscription_id}-cancel-False",
        )


register(
    "billing",
    {
        "billing_profiles",
        "billing_settings",
        "billing_counters",
        "invoices",
        "invoice_lines",
        "plans",
        "subscriptions",
        "subscription_charges",
    },
    erase_billing,
)
