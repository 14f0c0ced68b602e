from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.realtime import service as realtime
from admitone.realtime.memory_bus import MemoryBus
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.realtime.conftest import QUEUE_SIZE, REPLAY_SIZE
from tests.realtime.topics_for_tests import NEWS, STAFF, USER
from tests.support.sse import SseEvent, is_message, open_stream, streaming_client


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with streaming_client(app) as client:
        yield client


async def publish_news(runtime: Runtime, n: int) -> dict[str, object]:
    async with runtime.unit_of_work() as uow:
        return realtime.publish(uow, NEWS, "news_posted", {"n": n})


def bus(runtime: Runtime) -> MemoryBus:
    assert isinstance(runtime.bus, MemoryBus)
    return runtime.bus


async def test_a_guest_may_not_read_a_staff_topic(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/stream", params={"topics": f"{NEWS.name()},{STAFF.name()}"})
    assert response.status_code == 403
    assert response.json()["error"] == "topic_forbidden"
    assert response.json()["details"] == {"topic": "testing:staff"}


async def test_a_user_may_read_their_own_topic_but_not_another_users(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, alice_headers = await auth_headers(client, runtime)
    bob, _ = await auth_headers(client, runtime)
    bobs = USER.name(user_id=bob.id)
    response = await client.get("/api/stream", params={"topics": bobs}, headers=alice_headers)
    assert response.status_code == 403
    assert response.json()["details"] == {"topic": bobs}
    async with open_stream(client, USER.name(user_id=alice.id), alice_headers):
        pass


async def test_staff_may_read_staff_topics_and_any_users_topic(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, _ = await auth_headers(client, runtime)
    _, admin_headers = await auth_headers(client, runtime, Role.ADMIN)
    topics = f"{STAFF.name()},{USER.name(user_id=customer.id)},accounts:users"
    async with open_stream(client, topics, admin_headers):
        assert bus(runtime).fanout.subscriber_count() == 1


@pytest.mark.parametrize(
    ("topics", "error"),
    [
        ("testing:nothing", "unknown_topic"),
        ("testing:user:42", "unknown_topic"),
        (",".join(["testing:news"] + [f"testing:n{i}" for i in range(20)]), "too_many_topics"),
        (" , ", "validation_error"),
    ],
)
async def test_unknown_malformed_or_too_many_topics_are_422(
    client: httpx.AsyncClient, topics: str, error: str
) -> None:
    response = await client.get("/api/stream", params={"topics": topics})
    assert response.status_code == 422
    assert response.json()["error"] == error
    assert response.json()["details"]["field"] == "topics"


async def test_a_stream_without_topics_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/stream")).status_code == 422


async def test_a_committed_message_reaches_an_open_stream(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with open_stream(client, NEWS.name()) as reader:
        sent = await publish_news(runtime, 1)
        event = await reader.next_event()
    assert event.id == sent["id"]
    assert event.event == "news_posted"
    assert event.json() == {"topic": "testing:news", **sent}


async def test_staff_see_a_role_change_made_through_the_api(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, _ = await auth_headers(client, runtime)
    owner, owner_headers = await auth_headers(client, runtime, Role.OWNER)
    async with open_stream(client, "accounts:users", owner_headers) as reader:
        response = await client.put(
            f"/api/users/{customer.id}/role", json={"role": "organizer"}, headers=owner_headers
        )
        assert response.status_code == 200
        event = await reader.next_event()
    assert event.event == "user_role_changed"
    assert event.json()["payload"] == {
        "user_id": str(customer.id),
        "old_role": "customer",
        "role": "organizer",
        "changed_by": str(owner.id),
    }


async def test_a_client_resumes_after_its_last_event_id(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with open_stream(client, NEWS.name()) as reader:
        await publish_news(runtime, 1)
        last_seen = (await reader.next_event()).id
    assert last_seen is not None
    missed = [await publish_news(runtime, n) for n in (2, 3)]

    async with open_stream(
        client, NEWS.name(), {"Last-Event-ID": last_seen}
    ) as reader:  # what EventSource sends when it reconnects
        replayed = [await reader.next_event(), await reader.next_event()]
        live = await publish_news(runtime, 4)
        after = await reader.next_event()
    assert [e.id for e in replayed] == [m["id"] for m in missed]
    assert after.id == live["id"]


async def test_a_last_event_id_older_than_the_buffer_gets_a_reset_then_live_events(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    oldest = await publish_news(runtime, 0)
    for n in range(1, REPLAY_SIZE + 1):
        await publish_news(runtime, n)
    async with open_stream(client, NEWS.name(), {"Last-Event-ID": str(oldest["id"])}) as reader:
        reset = await reader.next_event(lambda e: e.comment is None)
        live = await publish_news(runtime, 99)
        event = await reader.next_event()
    assert reset.event == "reset"
    assert reset.id is None  # keeps the client's Last-Event-ID as it was
    assert json.loads(reset.data) == {"type": "stream_reset", "reason": "last_event_id_unknown"}
    assert event.id == live["id"]


async def test_an_idle_stream_gets_keep_alive_pings(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.sse_keepalive_seconds = 0.05
    async with open_stream(client, NEWS.name()) as reader:
        ping = await reader.next_event(lambda e: e.comment is not None)
    assert ping.comment == "ping"


async def test_a_client_that_stops_reading_is_dropped_without_buffering_more(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with open_stream(client, NEWS.name()) as reader:
        for n in range(10 * QUEUE_SIZE):  # the client reads nothing meanwhile
            await bus(runtime).publish(NEWS.name(), {"type": "news_posted", "id": str(n)})
        assert bus(runtime).fanout.subscriber_count() == 0
        rest = await reader.rest()
    messages = [e for e in rest if is_message(e)]
    assert len(messages) <= QUEUE_SIZE + 2  # the queue, plus what was already on its way
    assert rest[-1].event == "close"
    assert json.loads(rest[-1].data)["reason"] == "slow_consumer"


async def test_open_streams_end_when_the_server_shuts_down(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with open_stream(client, NEWS.name()) as reader:
        await runtime.bus.close()
        rest = await reader.rest()
    assert [(e.event, json.loads(e.data)["reason"]) for e in rest] == [("close", "shutdown")]


async def test_an_open_stream_holds_no_database_connection(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    pool = runtime.database.engine.pool
    async with open_stream(client, STAFF.name(), headers):
        # The request's unit of work committed before the first byte and gave its connection
        # back: a thousand open streams must not hold a thousand connections.
        assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_disconnected_client_is_unsubscribed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with open_stream(client, NEWS.name()):
        assert bus(runtime).fanout.subscriber_count() == 1
    assert bus(runtime).fanout.subscriber_count() == 0


async def test_a_stream_ends_when_the_bearer_token_expires(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    user, headers = await auth_headers(client, runtime)
    clock.advance(timedelta(minutes=15) - timedelta(seconds=0.2))
    async with open_stream(client, USER.name(user_id=user.id), headers) as reader:
        closing: SseEvent = await reader.next_event(lambda e: e.event == "close")
    assert json.loads(closing.data)["reason"] == "token_expired"
