"""Password hashing (argon2) and access tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
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
_dummy_hash = _hasher.hash(new_secret())


def use_cheap_password_hashing() -> None:
    """Argon2 with minimal cost, for test suites only: the default cost is deliberately slow.
    Hashes made either way verify either way (the parameters are stored in the hash)."""
    global _hasher, _dummy_hash  # noqa: PLW0603 - one process-wide switch, set before use
    _hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    _dummy_hash = _hasher.hash(new_secret())


# Argon2 takes a good part of a second of CPU on purpose; it runs in a worker thread so that
# one sign-in does not stall every other request on the event loop.
async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        await asyncio.to_thread(_hasher.verify, password, _dummy_hash)
        return False
    return await asyncio.to_thread(_hasher.verify, password, password_hash)


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
            # Time claims are judged against the injected clock below; PyJWT would use the wall
            # clock, which disagrees with the clock of a test or a replayed job.
            options={
                "require": ["exp", "iat", "sub", "typ"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
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


def derive_token(secret: str, purpose: str, subject: uuid.UUID) -> str:
    """A secret only the server can compute, for links sent by email: it needs no storage, so
    any later step (a webhook, a retried email) can put the same token in front of the buyer."""
    digest = hmac.new(secret.encode(), purpose.encode() + b":" + subject.bytes, hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
