"""Pub/sub topics of billing: invoices and billing profiles, each for staff and, under
``:user:{user_id}``, for the user concerned (the buyer billed, the organizer who issued it, the
profile's owner). Payloads carry ids, numbers, statuses and amounts: never a name, an address
or a VAT id."""

from __future__ import annotations

import uuid

from admitone.billing.models import BillingProfile, Invoice, Subscription
from admitone.core.db import UnitOfWork
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import owner_or_staff, staff, topic

INVOICES = topic("billing:invoices", staff(), "Every invoice and credit note as issued (staff).")
USER_INVOICES = topic(
    "billing:invoices:user:{user_id}",
    owner_or_staff(),
    "The invoices and credit notes of one user, billed or issuing (that user and staff).",
)
PROFILES = topic("billing:profiles", staff(), "Every billing profile as it changes (staff).")
USER_PROFILES = topic(
    "billing:profiles:user:{user_id}",
    owner_or_staff(),
    "The billing profiles of one user as they change (that user and staff).",
)

SUBSCRIPTIONS = topic(
    "billing:subscriptions", staff(), "Every subscription as its state changes (staff)."
)
USER_SUBSCRIPTIONS = topic(
    "billing:subscriptions:user:{user_id}",
    owner_or_staff(),
    "The subscriptions of one user as they change: theirs, or to their plans (that user and "
    "staff).",
)

INVOICE_ISSUED = "invoice_issued"
INVOICE_VOIDED = "invoice_voided"
CREDIT_NOTE_ISSUED = "credit_note_issued"
PROFILE_CREATED = "profile_created"
PROFILE_UPDATED = "profile_updated"
PROFILE_DELETED = "profile_deleted"


def invoice_message(invoice: Invoice) -> dict[str, object]:
    return {
        "invoice_id": str(invoice.id),
        "kind": invoice.kind,
        "number": invoice.number,
        "status": invoice.status,
        "order_id": str(invoice.order_id),
        "credits_invoice_id": _str(invoice.credits_invoice_id),
        "gross_total": invoice.gross_total,
        "currency": invoice.currency,
    }


def publish_invoice(uow: UnitOfWork, invoice: Invoice, kind: str) -> None:
    """``kind`` on the staff topic and those of the buyer and the organizer; after commit."""
    payload = invoice_message(invoice)
    realtime_service.publish(uow, INVOICES.name(), kind, payload)
    for user_id in {invoice.buyer_user_id, invoice.organizer_id} - {None}:
        assert user_id is not None
        realtime_service.publish(uow, USER_INVOICES.name(user_id=user_id), kind, payload)


def publish_profile(uow: UnitOfWork, profile: BillingProfile, kind: str) -> None:
    payload = {
        "profile_id": str(profile.id),
        "user_id": str(profile.user_id),
        "is_default": profile.is_default,
    }
    realtime_service.publish(uow, PROFILES.name(), kind, payload)
    realtime_service.publish(uow, USER_PROFILES.name(user_id=profile.user_id), kind, payload)


def publish_subscription(uow: UnitOfWork, subscription: Subscription, kind: str) -> None:
    """``kind`` on the staff topic and those of the subscriber and the plan's organizer."""
    payload = {
        "subscription_id": str(subscription.id),
        "plan_id": str(subscription.plan_id),
        "status": subscription.status,
        "period_number": subscription.period_number,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "price": subscription.price,
        "currency": subscription.currency,
    }
    realtime_service.publish(uow, SUBSCRIPTIONS.name(), kind, payload)
    for user_id in {subscription.user_id, subscription.organizer_id} - {None}:
        assert user_id is not None
        realtime_service.publish(uow, USER_SUBSCRIPTIONS.name(user_id=user_id), kind, payload)


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
