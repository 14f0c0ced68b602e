"""Identifiers: UUIDs for rows, URL-safe random strings for secrets and short references."""

from __future__ import annotations

import hashlib
import secrets
import uuid

# Crockford's alphabet without I, L, O, U: references are read aloud and typed by people.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def short_reference(length: int = 8) -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(length))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
