"""The acting user of the current request or job, read by the activity log (rule 9)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# The roles that run the platform (accounts.models.Role's values): they see and manage what
# belongs to others.
STAFF_ROLES = frozenset({"owner", "admin"})


@dataclass(frozen=True, slots=True)
class Actor:
    uuid: uuid.UUID | None
    role: str  # "system" for jobs and the CLI, "anonymous" for guests

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


SYSTEM = Actor(None, "system")
ANONYMOUS = Actor(None, "anonymous")

_current: ContextVar[Actor] = ContextVar("admitone_actor", default=ANONYMOUS)


def current_actor() -> Actor:
    return _current.get()


def set_actor(actor: Actor) -> None:
    _current.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
