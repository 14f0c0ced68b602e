"""A secret kept in a file that only its owner can read, made once and shared by every process
that reads it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

MIN_SECRET_LENGTH = 32


class SecretFileError(ValueError):
    pass


def read_or_create_secret(path: Path) -> str:
    """The secret in ``path``; on the first call anywhere, a new random one written there with
    mode 0600. Two processes starting together both end up with the one that was linked first:
    it is written whole under a temporary name, then linked to ``path``, which fails when the
    name is taken instead of replacing it."""
    if not path.exists():
        _create(path)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"cannot read the secret key file {path}: {exc.strerror}") from exc
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretFileError(
            f"the secret key file {path} holds no key of at least {MIN_SECRET_LENGTH} "
            "characters; delete it to have a new one made"
        )
    return secret


def _create(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: theirs it is
            os.link(temporary, path)
    except OSError as exc:
        raise SecretFileError(f"cannot write the secret key file {path}: {exc.strerror}") from exc
    finally:
        temporary.unlink(missing_ok=True)
