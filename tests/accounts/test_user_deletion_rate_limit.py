"""Deleting an account is under the strict limit: a stolen token cannot guess the password."""

from __future__ import annotations

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.runtime import Runtime
from tests.conftest import auth_headers


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A day's window keeps the test clear of a window's turn.
    return settings.model_copy(update={"rate_limit_strict": "2/day"})


async def test_password_guesses_on_self_deletion_hit_the_strict_limit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.CUSTOMER)
    statuses = [
        (
            await client.request(
                "DELETE", "/api/me", json={"password": f"guess {n}"}, headers=headers
            )
        ).status_code
        for n in range(3)
    ]
    assert statuses == [403, 403, 429]
