"""Sign-in sessions: access tokens plus rotating, revocable refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from admitone.accounts.errors import RefreshTokenReused
from admitone.accounts.models import RefreshToken, User
from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidToken
from admitone.core.ids import new_secret, new_uuid, sha256_hex
from admitone.core.security import issue_access_token


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def issue_tokens(
    uow: UnitOfWork, settings: Settings, user: User, family_id: uuid.UUID | None = None
) -> tuple[TokenPair, RefreshToken]:
    now = uow.clock.now()
    raw = new_secret()
    row = RefreshToken(
        id=new_uuid(),
        user_id=user.id,
        family_id=family_id or new_uuid(),
        token_hash=sha256_hex(raw),
        created_at=now,
        expires_at=now + timedelta(days=settings.refresh_token_days),
    )
    uow.session.add(row)
    await uow.flush()
    ttl = timedelta(minutes=settings.access_token_minutes)
    access = issue_access_token(settings.signing_key, user.id, user.role, now, ttl)
    return TokenPair(access, raw, int(ttl.total_seconds())), row


async def rotate(uow: UnitOfWork, settings: Settings, raw_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair. A token works once: a second use revokes the
    whole family, because only a thief or a replay would present a rotated token again."""
    now = uow.clock.now()
    token = await uow.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(raw_token))
    )
    if token is None or token.expires_at <= now:
        raise InvalidToken("The refresh token is invalid or has expired.")
    # The conditional update is the arbiter when two refreshes race with the same token.
    claimed = await uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(uow, token.family_id)
        raise RefreshTokenReused()
    user = await uow.session.get(User, token.user_id)
    if user is None:
        raise InvalidToken("The refresh token is invalid or has expired.")
    pair, successor = await issue_tokens(uow, settings, user, family_id=token.family_id)
    await uow.session.execute(
        update(RefreshToken).where(RefreshToken.id == token.id).values(replaced_by_id=successor.id)
    )
    return pair


async def revoke_family(uow: UnitOfWork, family_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=uow.clock.now())
    )


async def revoke(uow: UnitOfWork, raw_token: str) -> None:
    """Sign out: the presented token's whole family stops working. Unknown tokens are ignored
    so that logout never tells a caller whether a token existed."""
    family_id = await uow.session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == sha256_hex(raw_token))
    )
    if family_id is not None:
        await revoke_family(uow, family_id)


async def session_user(uow: UnitOfWork, raw_token: str) -> User | None:
    """The user of a live sign-in session (a browser's cookie holds its refresh token, never
    sent to the API): None once it is revoked by signing out, rotated, or expired."""
    return await uow.session.scalar(
        select(User)
        .join(RefreshToken, RefreshToken.user_id == User.id)
        .where(
            RefreshToken.token_hash == sha256_hex(raw_token),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > uow.clock.now(),
        )
    )
