"""Users of each role, signed in over the API: the fixtures ``owner``, ``admin``, ``organizer``
and ``customer``, and ``sign_in`` for a test that needs more than one of a role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from admitone.accounts.models import Role, User
from admitone.core.actor import Actor
from admitone.runtime import Runtime
from tests.conftest import auth_headers


@dataclass
class Signed:
    user: User
    headers: dict[str, str]

    @property
    def id(self) -> str:
        """The user's id as the API writes it."""
        return str(self.user.id)

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.user.role)


async def sign_in(
    client: httpx.AsyncClient, runtime: Runtime, role: Role = Role.CUSTOMER
) -> Signed:
    return Signed(*await auth_headers(client, runtime, role))


def _signed_in_as(role: Role) -> Callable[[httpx.AsyncClient, Runtime], Awaitable[Signed]]:
    async def fixture(client: httpx.AsyncClient, runtime: Runtime) -> Signed:
        return await sign_in(client, runtime, role)

    fixture.__doc__ = f"A new {role.value}, signed in."
    return pytest.fixture(name=role.value)(fixture)


owner = _signed_in_as(Role.OWNER)
admin = _signed_in_as(Role.ADMIN)
organizer = _signed_in_as(Role.ORGANIZER)
customer = _signed_in_as(Role.CUSTOMER)
