"""Account use cases: register, sign in, roles, and the first owner."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from admitone.accounts import tokens
from admitone.accounts import topics as accounts_topics
from admitone.accounts.errors import EmailTaken, InsufficientRole, InvalidCredentials, LastOwner
from admitone.accounts.models import Role, User
from admitone.accounts.passwords import check_password_strength
from admitone.activity import service as activity
from admitone.config import Settings
from admitone.core.actor import STAFF_ROLES, Actor, acting_as
from admitone.core.db import UnitOfWork
from admitone.core.emails import account_address, email_key
from admitone.core.errors import InvalidInput, NotFound
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page, paginate
from admitone.core.security import hash_password, verify_password
from admitone.realtime import service as realtime

TokenPair = tokens.TokenPair


async def get_by_email(uow: UnitOfWork, email: str) -> User | None:
    return await uow.session.scalar(select(User).where(User.email_normalised == email_key(email)))


async def get_user(uow: UnitOfWork, user_id: uuid.UUID) -> User | None:
    return await uow.session.get(User, user_id)


async def create_user(
    uow: UnitOfWork, settings: Settings, *, email: str, name: str, password: str, role: Role
) -> User:
    """A user made by staff, the CLI or the demo seed, with any role."""
    user = await _add_user(uow, settings, email=email, name=name, password=password, role=role)
    await _record_new_user(uow, "accounts.user_created", user)
    return user


async def _add_user(
    uow: UnitOfWork, settings: Settings, *, email: str, name: str, password: str, role: Role
) -> User:
    try:  # the CLI and the demo come here without the API's validation
        email = account_address(email)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="email") from exc
    check_password_strength(password, email=email, min_length=settings.password_min_length)
    # Hashed before the first query: argon2's time would otherwise be spent holding a pooled
    # connection, and on SQLite the write lock every other registration waits for.
    password_hash = await hash_password(password)
    if await get_by_email(uow, email) is not None:
        raise EmailTaken(field="email")
    now = uow.clock.now()
    user = User(
        id=new_uuid(),
        email=email,
        name=name.strip(),
        password_hash=password_hash,
        role=role.value,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(user)
    try:
        await uow.flush()
    except IntegrityError as exc:  # a concurrent registration won the unique index
        raise EmailTaken(field="email") from exc
    return user


async def register(
    uow: UnitOfWork, settings: Settings, *, email: str, name: str, password: str
) -> User:
    user = await _add_user(
        uow, settings, email=email, name=name, password=password, role=Role.CUSTOMER
    )
    # A guest signs up; the account they just made is who acted.
    with acting_as(Actor(user.id, user.role)):
        await _record_new_user(uow, "accounts.user_registered", user)
    return user


async def _record_new_user(uow: UnitOfWork, action: str, user: User) -> None:
    await activity.record(
        uow, action, resource_type="user", resource_uuid=user.id, metadata={"role": user.role}
    )


async def login(
    uow: UnitOfWork, settings: Settings, *, email: str, password: str
) -> tuple[User, TokenPair]:
    user = await get_by_email(uow, email)
    if not await verify_password(password, user.password_hash if user else None) or user is None:
        raise InvalidCredentials()
    pair, _ = await tokens.issue_tokens(uow, settings, user)
    # Sign-in is a public route: the actor becomes known only now.
    with acting_as(Actor(user.id, user.role)):
        await activity.record(
            uow, "accounts.session_started", resource_type="user", resource_uuid=user.id
        )
    return user, pair


async def refresh(uow: UnitOfWork, settings: Settings, refresh_token: str) -> TokenPair:
    return await tokens.rotate(uow, settings, refresh_token)


async def logout(uow: UnitOfWork, refresh_token: str) -> None:
    await tokens.revoke(uow, refresh_token)


async def session_user(uow: UnitOfWork, raw_token: str) -> User | None:
    return await tokens.session_user(uow, raw_token)


async def list_users(
    uow: UnitOfWork, *, role: Role | None, limit: int | None, cursor: str | None
) -> Page[User]:
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role.value)
    return await paginate(
        uow.session,
        stmt,
        created_at=User.created_at,
        row_id=User.id,
        limit=limit,
        cursor=cursor,
        newest_first=False,
    )


async def change_role(uow: UnitOfWork, actor: Actor, user_id: uuid.UUID, role: Role) -> User:
    """Owners and admins manage roles; only an owner grants or removes owner or admin."""
    if actor.role not in STAFF_ROLES:
        raise InsufficientRole()
    user = await uow.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.role == Role.OWNER:
        # Lock every owner row (in id order) before the target row: two owners demoting each
        # other at the same time then queue instead of deadlocking.
        await _owner_count(uow)
    await uow.session.refresh(user, with_for_update=True)
    touches_staff = role in STAFF_ROLES or Role(user.role) in STAFF_ROLES
    if touches_staff and actor.role != Role.OWNER:
        raise InsufficientRole("Only an owner can grant or remove the owner or admin role.")
    if user.role == Role.OWNER and role != Role.OWNER and await _owner_count(uow) <= 1:
        raise LastOwner()
    old_role = user.role
    user.role = role.value
    user.updated_at = uow.clock.now()
    await uow.flush()
    if old_role != user.role:
        await activity.record(
            uow,
            "accounts.user_role_changed",
            resource_type="user",
            resource_uuid=user.id,
            metadata={"old_role": old_role, "new_role": user.role},
        )
        # First, so that the user's open streams lose a staff topic before its next message.
        realtime.user_access_changed(uow, user.id)
        realtime.publish(
            uow,
            accounts_topics.USERS,
            accounts_topics.USER_ROLE_CHANGED,
            {"user_id": user.id, "old_role": old_role, "role": user.role, "changed_by": actor.uuid},
        )
    return user


async def _owner_count(uow: UnitOfWork) -> int:
    # Locking every owner row serialises two owners demoting each other at the same time.
    owners = await uow.session.scalars(
        select(User.id).where(User.role == Role.OWNER.value).order_by(User.id).with_for_update()
    )
    return len(owners.all())


async def count_users(uow: UnitOfWork) -> int:
    return await uow.session.scalar(select(func.count()).select_from(User)) or 0
