"""Password hashing (argon2) and access tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from admitone.core.errors import InvalidToken
from admitone.core.ids import new_secret

T = TypeVar("T")
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


# Argon2 costs, on purpose, a core and tens of megabytes for a good part of a second. It runs
# in threads of its own so that it stalls neither the event loop nor the default thread pool,
# and in at most `limit` threads: a burst of sign-ups or sign-ins waits its turn in the queue,
# holding a few bytes each, instead of hashing all at once. A thread count, unlike an asyncio
# semaphore, still bounds the hashing when a waiting request is cancelled (its thread runs on,
# and a queued one is dropped), and belongs to no event loop.
_hashing_limit = 2
_hashing_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def limit_concurrent_hashing(limit: int) -> None:
    """At most ``limit`` password hashes or verifications at once in this process."""
    global _hashing_limit, _hashing_pool
    with _pool_lock:
        if limit == _hashing_limit:
            return
        _hashing_limit, old, _hashing_pool = limit, _hashing_pool, None
    if old is not None:
        old.shutdown(wait=False)


def _pool() -> ThreadPoolExecutor:
    global _hashing_pool  # noqa: PLW0603 - created on first use, with the limit of the time
    with _pool_lock:
        if _hashing_pool is None:
            _hashing_pool = ThreadPoolExecutor(_hashing_limit, thread_name_prefix="argon2")
        return _hashing_pool


async def _hashing(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool(), fn, *args)


async def hash_password(password: str) -> str:
    return await _hashing(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        await _hashing(_hasher.verify, password, _dummy_hash)
        return False
    return await _hashing(_hasher.verify, password, password_hash)


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
