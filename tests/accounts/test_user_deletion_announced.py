"""After a deletion commits: staff's user lists hear ``user_deleted``, the deleted user's open
streams end, and the activity log records ``accounts.user_deleted`` without personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

import admitone.wiring  # noqa: F401 - every domain's personal data claim
from admitone.accounts import topics as accounts_topics
from admitone.accounts.models import Role
from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.realtime.topics_for_tests import NEWS
from tests.support.sse import open_stream, streaming_client


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with streaming_client(app) as client:
        yield client


async def test_staff_hear_the_deletion_and_the_deleted_users_stream_ends(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin, admin_headers = await auth_headers(client, runtime, Role.ADMIN)
    customer, headers = await auth_headers(client, runtime)
    async with (
        open_stream(client, accounts_topics.USERS.name(), admin_headers) as staff,
        open_stream(client, NEWS.name(), headers) as doomed,
    ):
        response = await client.delete(f"/api/admin/users/{customer.id}", headers=admin_headers)
        assert response.status_code == 200, response.text
        heard = await staff.next_event()
        rest = await doomed.rest()
    assert heard.event == accounts_topics.USER_DELETED, heard
    assert heard.json()["payload"]["user_id"] == str(customer.id)
    assert heard.json()["payload"]["deleted_by"] == str(admin.id)
    assert [e.json()["reason"] for e in rest if e.event == "close"] == ["access_revoked"]
    refused = await client.get("/api/stream", params={"topics": NEWS.name()}, headers=headers)
    assert refused.status_code == 401


async def test_the_deletion_is_in_the_activity_log_without_personal_data(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin, admin_headers = await auth_headers(client, runtime, Role.ADMIN)
    customer, _ = await auth_headers(client, runtime)
    response = await client.delete(f"/api/admin/users/{customer.id}", headers=admin_headers)
    assert response.status_code == 200, response.text

    async with runtime.unit_of_work(readonly=True) as uow:
        entry = await uow.session.scalar(
            select(ActivityEntry).where(ActivityEntry.action == "accounts.user_deleted")
        )
    assert entry is not None
    assert (entry.actor_uuid, entry.resource_uuid) == (admin.id, customer.id)
    assert entry.meta == {"role": "customer"}
    written = json.dumps(entry.meta)
    assert customer.email not in written and customer.name not in written
