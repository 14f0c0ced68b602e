"""The payment provider's customer of a signed-in buyer: created at their first purchase, then
reused, so the provider's dashboard shows one customer per account.

No transaction is open during the provider call (rule 4): a short read, the call, a short
write. Two first purchases racing both call the provider with the same idempotency key, derived
from the user, so the provider creates one customer; the row's primary key keeps one link.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from admitone.core.db import UnitOfWork
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import CustomerGateway, CustomerRequest, PaymentGateway
from admitone.payments.models import PaymentCustomer

log = structlog.get_logger(__name__)


def customer_key(user_id: uuid.UUID) -> str:
    return f"admitone-user-{user_id}-customer"


async def ensure_customer(
    uow: UnitOfWork, gateway: PaymentGateway, *, user_id: uuid.UUID, email: str, name: str
) -> str | None:
    """The buyer's customer id at ``gateway``, or None when the gateway keeps no customers or
    could not create one (the charge then goes through without it: a customer is a
    convenience, never a reason to refuse a payment). Commits the unit of work it is given, so
    call it with no pending changes."""
    if not isinstance(gateway, CustomerGateway):
        return None
    known = await _stored(uow, user_id, gateway.name)
    await uow.commit()
    if known is not None:
        return known
    try:
        created = await gateway.create_customer(
            CustomerRequest(
                user_id=str(user_id),
                email=email,
                name=name,
                idempotency_key=customer_key(user_id),
            )
        )
    except GatewayError as exc:
        log.warning("payment_customer_not_created", user_id=str(user_id), reason=exc.code)
        return None
    try:
        await _store(uow, user_id, gateway.name, created)
        # A racing purchase may have stored its (identical) id first.
        stored = await _stored(uow, user_id, gateway.name)
        await uow.commit()
    except IntegrityError:
        # The account went away meanwhile: charge without keeping the link.
        await uow.rollback()
        return created
    return stored or created


async def _stored(uow: UnitOfWork, user_id: uuid.UUID, gateway: str) -> str | None:
    return await uow.session.scalar(
        select(PaymentCustomer.customer_id).where(
            PaymentCustomer.user_id == user_id, PaymentCustomer.gateway == gateway
        )
    )


async def _store(uow: UnitOfWork, user_id: uuid.UUID, gateway: str, customer_id: str) -> None:
    connection = await uow.session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await uow.session.execute(
        insert(PaymentCustomer)
        .values(
            user_id=user_id,
            gateway=gateway,
            customer_id=customer_id,
            created_at=uow.clock.now(),
        )
        .on_conflict_do_nothing(index_elements=[PaymentCustomer.user_id, PaymentCustomer.gateway])
    )
