"""Streams are capped per client and per process, and an open stream loses what its user may no
longer read: a role change re-checks its topics, a deleted user's stream ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.realtime import service as realtime
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.realtime.topics_for_tests import NEWS, STAFF, USER
from tests.support.sse import SseEvent, is_message, open_stream, streaming_client

PER_CLIENT = 2
PER_PROCESS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"sse_max_streams_per_client": PER_CLIENT, "sse_max_streams": PER_PROCESS}
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with streaming_client(app) as client:
        yield client


def is_close(event: SseEvent) -> bool:
    return event.event == "close"


async def publish_staff_news(runtime: Runtime, n: int) -> None:
    async with runtime.unit_of_work() as uow:
        realtime.publish(uow, STAFF, "staff_note", {"n": n})


async def test_a_client_past_its_open_streams_is_refused_until_one_closes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, alice = await auth_headers(client, runtime)
    _, bob = await auth_headers(client, runtime)
    async with open_stream(client, NEWS.name(), alice), open_stream(client, NEWS.name(), alice):
        refused = await client.get("/api/stream", params={"topics": NEWS.name()}, headers=alice)
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_streams"
        assert refused.json()["details"]["cap"] == "client"
        assert refused.json()["details"]["limit"] == PER_CLIENT
        assert refused.headers["Retry-After"]
        async with open_stream(client, NEWS.name(), bob):  # another client is not affected
            pass
    async with open_stream(client, NEWS.name(), alice):  # the slots were given back
        pass


async def test_a_process_past_its_open_streams_refuses_every_client(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    users = [(await auth_headers(client, runtime))[1] for _ in range(PER_PROCESS + 1)]
    async with (
        open_stream(client, NEWS.name(), users[0]),
        open_stream(client, NEWS.name(), users[1]),
        open_stream(client, NEWS.name(), users[2]),
    ):
        refused = await client.get("/api/stream", params={"topics": NEWS.name()}, headers=users[3])
    assert refused.status_code == 429
    assert refused.json()["details"]["cap"] == "process"


async def test_a_demoted_admin_stops_receiving_staff_topics_on_an_open_stream(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin, admin_headers = await auth_headers(client, runtime, Role.ADMIN)
    _, owner_headers = await auth_headers(client, runtime, Role.OWNER)
    async with open_stream(client, f"{STAFF.name()},accounts:users", admin_headers) as reader:
        await publish_staff_news(runtime, 1)
        assert (await reader.next_event()).json()["payload"] == {"n": 1}

        demoted = await client.put(
            f"/api/users/{admin.id}/role", json={"role": "customer"}, headers=owner_headers
        )
        assert demoted.status_code == 200, demoted.text
        await publish_staff_news(runtime, 2)
        rest = await reader.rest()
    # Nothing after the demotion: not its own announcement on accounts:users, not the note.
    assert [e for e in rest if is_message(e)] == []
    (closed,) = [e for e in rest if is_close(e)]
    assert closed.json() == {"type": "stream_closed", "reason": "access_revoked"}
    refused = await client.get(
        "/api/stream", params={"topics": STAFF.name()}, headers=admin_headers
    )
    assert refused.status_code == 403


async def test_a_role_change_that_keeps_every_topic_keeps_the_stream(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, headers = await auth_headers(client, runtime)
    _, owner_headers = await auth_headers(client, runtime, Role.OWNER)
    own = USER.name(user_id=customer.id)
    async with open_stream(client, own, headers) as reader:
        promoted = await client.put(
            f"/api/users/{customer.id}/role", json={"role": "organizer"}, headers=owner_headers
        )
        assert promoted.status_code == 200, promoted.text
        async with runtime.unit_of_work() as uow:
            sent = realtime.publish(uow, own, "note", {"still": "here"})
        event = await reader.next_event()
    assert event.id == sent["id"]


async def test_a_deleted_users_open_streams_end(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, headers = await auth_headers(client, runtime)
    _, other_headers = await auth_headers(client, runtime)
    async with (
        open_stream(client, NEWS.name(), headers) as reader,
        open_stream(client, NEWS.name(), other_headers) as others,
    ):
        async with runtime.unit_of_work() as uow:
            realtime.user_deleted(uow, customer.id)
        rest = await reader.rest()
        async with runtime.unit_of_work() as uow:
            sent = realtime.publish(uow, NEWS, "news_posted", {"n": 1})
        assert (await others.next_event()).id == sent["id"]  # only that user's streams end
    assert [e.json()["reason"] for e in rest if is_close(e)] == ["access_revoked"]


async def test_no_stream_may_read_the_internal_access_topic(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, owner_headers = await auth_headers(client, runtime, Role.OWNER)
    response = await client.get(
        "/api/stream", params={"topics": "realtime:access"}, headers=owner_headers
    )
    assert response.status_code == 403
