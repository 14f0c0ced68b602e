"""Password hashing (argon2) and access tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from admitone.core.errors import InvalidToken
from admitone.core.ids import new_secret

_ALGORITHM = "HS256"
_ISSUER = "admitone"
_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so both answers take the same time.
_DUMMY_HASH = _hasher.hash(new_secret())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    role: str
    expires_at: datetime


def issue_access_token(
    secret: str, user_id: uuid.UUID, role: str, now: datetime, ttl: timedelta
) -> str:
    claims = {
        "iss": _ISSUER,
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": new_secret(12),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def decode_access_token(secret: str, token: str, now: datetime) -> AccessClaims:
    """Decode and verify; expiry is judged against the injected clock, not the wall clock."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False},
        )
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)
        if claims["typ"] != "access":
            raise InvalidToken()
        user_id = uuid.UUID(str(claims["sub"]))
        role = str(claims["role"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken() from exc
    if expires_at <= now:
        raise InvalidToken("The access token has expired.", details={"reason": "expired"})
    return AccessClaims(user_id, role, expires_at)
