from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from admitone.realtime.fanout import Envelope, Item, Reset, Subscription
from admitone.realtime.redis_bus import RedisBus

WAIT = 10.0


@pytest.fixture
def prefix() -> str:
    # Tests share one Redis: a prefix of their own keeps their channels apart.
    return f"admitone-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def make_bus(redis_url: str, prefix: str) -> Callable[[], RedisBus]:
    def make() -> RedisBus:
        return RedisBus(
            redis_url,
            channel_prefix=prefix,
            client_name=f"admitone-test-bus-{uuid.uuid4().hex[:8]}",
            replay_size=5,
            queue_size=8,
            reconnect_base=0.05,
            reconnect_cap=0.5,
        )

    return make


@pytest.fixture
async def bus(make_bus: Callable[[], RedisBus]) -> AsyncIterator[RedisBus]:
    bus = make_bus()
    await bus.start()
    assert bus.subscribed
    yield bus
    await bus.close()


async def next_item(subscription: Subscription) -> Item:
    return await asyncio.wait_for(subscription.get(), WAIT)


async def test_a_message_published_by_one_process_reaches_subscribers_of_every_process(
    bus: RedisBus, make_bus: Callable[[], RedisBus]
) -> None:
    other = make_bus()
    await other.start()
    try:
        here = bus.subscribe(["testing:news"])
        there = other.subscribe(["testing:news"])
        await bus.publish("testing:news", {"type": "news_posted", "id": "m1", "payload": {}})
        for subscription in (here, there):
            item = await next_item(subscription)
            assert isinstance(item, Envelope)
            assert item.topic == "testing:news"
            assert item.message == {"type": "news_posted", "id": "m1", "payload": {}}
        # Every process buffers every message, so a client may resume on any of them.
        assert there.topics == frozenset({"testing:news"})
        resumed = other.subscribe(["testing:news"], last_event_id="m1")
        assert resumed.reset is None
    finally:
        await other.close()


async def test_the_listener_reconnects_after_redis_drops_its_connection(
    bus: RedisBus, redis_url: str
) -> None:
    subscription = bus.subscribe(["testing:news"])
    admin = Redis.from_url(redis_url)
    try:
        [listener] = [c for c in await admin.client_list() if c["name"] == bus.client_name]
        await admin.client_kill_filter(_id=listener["id"])
    finally:
        await admin.aclose()

    # Messages published while the connection was down are gone: subscribers are told so.
    assert await next_item(subscription) == Reset("bus_reconnected")
    assert bus.subscribed
    await bus.publish("testing:news", {"type": "news_posted", "id": "after", "payload": {}})
    item = await next_item(subscription)
    assert isinstance(item, Envelope)
    assert item.message["id"] == "after"


async def test_a_bus_whose_redis_is_down_starts_in_bounded_time_and_keeps_trying() -> None:
    bus = RedisBus(
        "redis://127.0.0.1:1/0", startup_timeout=0.2, reconnect_base=0.01, reconnect_cap=0.05
    )
    await asyncio.wait_for(bus.start(), WAIT)
    try:
        assert not bus.subscribed
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(bus.publish("testing:news", {"type": "x"}), WAIT)
    finally:
        await asyncio.wait_for(bus.close(), WAIT)


async def test_close_ends_open_subscriptions(bus: RedisBus) -> None:
    subscription = bus.subscribe(["testing:news"])
    await bus.close()
    item = await next_item(subscription)
    assert not isinstance(item, Envelope | Reset)
    assert subscription.closed
