"""Deleting an account: staff delete a user, or a user deletes their own account with their
password. One transaction runs every domain's erasure (``core.personal_data``), so it all
happens or none of it does; after the commit the admin lists hear ``user_deleted`` and the
user's open streams close. The user's access tokens fail from then on: authentication finds no
account behind them."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from admitone.accounts import topics as accounts_topics
from admitone.accounts.errors import (
    AccountBusy,
    CannotDeleteLastOwner,
    CannotDeleteSelf,
    InsufficientPermissions,
    WrongPassword,
)
from admitone.accounts.models import Role, User
from admitone.activity import service as activity
from admitone.core import personal_data
from admitone.core.actor import STAFF_ROLES, Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import NotFound
from admitone.core.personal_data import Erasure, Subject
from admitone.core.security import verify_password
from admitone.realtime import service as realtime


async def delete_by_staff(uow: UnitOfWork, actor: Actor, user_id: uuid.UUID) -> Erasure:
    if actor.uuid == user_id:
        raise CannotDeleteSelf()
    target = await _locked(uow, user_id)
    if target.role in STAFF_ROLES and actor.role != Role.OWNER:
        raise InsufficientPermissions()
    return await _delete(uow, actor, target)


async def delete_own(uow: UnitOfWork, user: User, password: str) -> Erasure:
    if not await verify_password(password, user.password_hash):
        raise WrongPassword(field="password")
    target = await _locked(uow, user.id)
    return await _delete(uow, Actor(user.id, user.role), target)


async def _locked(uow: UnitOfWork, user_id: uuid.UUID) -> User:
    """The user, or 404. The row itself is locked last, by its deletion and without waiting: a
    purchase in flight holds a share of it (its order's foreign key) and may wait for rows the
    erasure touches, so waiting for it would deadlock the two (``_erase`` tries again)."""
    user = await uow.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.role == Role.OWNER:
        # Every owner row, in id order, as a role change takes them: two owners deleting each
        # other queue instead of deadlocking, and the last one is never deleted.
        owners = await uow.session.scalars(
            select(User.id).where(User.role == Role.OWNER.value).order_by(User.id).with_for_update()
        )
        if len(owners.all()) <= 1:
            raise CannotDeleteLastOwner()
        await uow.session.refresh(user)
    return user


# PostgreSQL's lock_not_available (the account row, taken without waiting) and deadlock_detected.
_RETRYABLE = frozenset({"55P03", "40P01"})
_ATTEMPTS = 8


async def _erase(uow: UnitOfWork, subject: Subject) -> Erasure:
    """Every domain's erasure in a savepoint, tried again while purchases of the user are in
    flight: rolling back to the savepoint gives back the rows it took, so the purchase waiting
    for one of them commits, and the next attempt finds its order."""
    for attempt in range(_ATTEMPTS):
        try:
            async with uow.savepoint():
                return await personal_data.erase(uow, subject)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                raise
        await asyncio.sleep(0.01 * 2**attempt)
    raise AccountBusy()


async def _delete(uow: UnitOfWork, actor: Actor, user: User) -> Erasure:
    user_id, role = user.id, user.role
    erasure = await _erase(uow, Subject(user_id, user.email, user.name))
    if not erasure.deleted.get("users"):
        raise NotFound("No such user.")  # another deletion of this user committed first
    uow.session.expunge(user)
    await activity.record(
        uow,
        "accounts.user_deleted",
        resource_type="user",
        resource_uuid=user_id,
        metadata={"role": role},
    )
    realtime.user_deleted(uow, user_id)
    realtime.publish(
        uow,
        accounts_topics.USERS,
        accounts_topics.USER_DELETED,
        {"user_id": user_id, "deleted_by": actor.uuid},
    )
    return erasure
