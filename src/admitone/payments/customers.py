"""The payment provider's customer of a signed-in buyer: created at their first purchase, then
reused, so the provider's dashboard shows one customer per account.

Its steps, in the caller's transactions: a read (``known_customer``), the provider call with no
transaction open (rule 4), a write (``keep_customer``). Two first purchases racing both call the
provider with the same idempotency key, derived from the user, so the provider creates one
customer; the row's primary key keeps one link.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from admitone.core.db import UnitOfWork
from admitone.payments.errors import GatewayError
from admitone.payments.gateway import CustomerGateway, CustomerRequest
from admitone.payments.models import PaymentCustomer

log = structlog.get_logger(__name__)


def customer_key(user_id: uuid.UUID) -> str:
    return f"admitone-user-{user_id}-customer"


async def known_customer(
    uow: UnitOfWork, gateway: CustomerGateway, user_id: uuid.UUID
) -> str | None:
    """The buyer's customer id at ``gateway``, if one was kept."""
    return await _stored(uow, user_id, gateway.name)


async def create_customer(
    gateway: CustomerGateway, *, user_id: uuid.UUID, email: str, name: str
) -> str | None:
    """Ask the provider for the buyer's customer, with no transaction open (rule 4): the key
    derived from the user makes two racing first purchases create one. None when it could not
    (the charge then goes through without it: a customer is a convenience, never a reason to
    refuse a payment)."""
    try:
        return await gateway.create_customer(
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


async def keep_customer(
    uow: UnitOfWork, gateway: CustomerGateway, user_id: uuid.UUID, customer_id: str
) -> str:
    """Link the buyer to ``customer_id`` in the caller's transaction, and answer the linked id:
    a racing purchase may have stored its (identical) id first. Raises ``IntegrityError`` when
    the account went away meanwhile."""
    await _store(uow, user_id, gateway.name, customer_id)
    return await _stored(uow, user_id, gateway.name) or customer_id


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
