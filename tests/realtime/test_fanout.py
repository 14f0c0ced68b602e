from __future__ import annotations

import asyncio
import uuid

from admitone.realtime.fanout import Closed, Envelope, Fanout, Reset, Subscription


def message(n: int) -> dict[str, object]:
    return {"type": "thing_happened", "id": str(uuid.uuid4()), "payload": {"n": n}}


def drain(subscription: Subscription) -> list[object]:
    items: list[object] = []
    while subscription.pending():
        items.append(subscription._queue.get_nowait())
    return items


def numbers(items: list[object]) -> list[int]:
    return [i.message["payload"]["n"] for i in items if isinstance(i, Envelope)]


def test_a_slow_subscriber_is_dropped_and_its_backlog_freed() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    slow = fanout.subscribe(["a"])
    fast = fanout.subscribe(["a"])
    for n in range(1000):
        fanout.deliver("a", message(n))
        drain(fast)
        assert slow.pending() <= 8  # memory stays bounded while it does not read
    assert drain(slow) == [Closed("slow_consumer")]
    assert slow.closed
    assert not fast.closed
    assert fanout.subscriber_count() == 1


async def test_a_reader_that_falls_a_queue_behind_reads_the_close_next() -> None:
    fanout = Fanout(replay_size=0, queue_size=1)
    subscription = fanout.subscribe(["a"])
    fanout.deliver("a", message(0))
    assert isinstance(await asyncio.wait_for(subscription.get(), 1), Envelope)
    fanout.deliver("a", message(1))
    fanout.deliver("a", message(2))
    assert await asyncio.wait_for(subscription.get(), 1) == Closed("slow_consumer")


def test_resume_sends_what_followed_the_last_event_on_the_streams_topics_in_order() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    sent = [(topic, message(n)) for n, topic in enumerate("abacab")]
    for topic, body in sent:
        fanout.deliver(topic, body)
    last_seen = sent[1][1]["id"]  # the client saw messages 0 and 1
    resumed = fanout.subscribe(["a", "b"], last_event_id=str(last_seen))
    assert resumed.reset is None
    assert numbers(list(resumed.replay)) == [2, 4, 5]
    fanout.deliver("a", message(6))
    assert numbers(drain(resumed)) == [6]  # live after replay: nothing lost, nothing twice


def test_resume_from_an_id_older_than_the_buffer_resets() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    first = message(0)
    fanout.deliver("a", first)
    for n in range(1, 6):
        fanout.deliver("a", message(n))
    resumed = fanout.subscribe(["a"], last_event_id=str(first["id"]))
    assert resumed.reset == Reset("last_event_id_unknown")
    assert resumed.replay == []


def test_resume_resets_when_another_topic_outran_its_buffer_since_the_last_event() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    quiet = message(0)
    fanout.deliver("quiet", quiet)
    for n in range(1, 7):  # six on "busy": the first one after the client's last is gone
        fanout.deliver("busy", message(n))
    resumed = fanout.subscribe(["quiet", "busy"], last_event_id=str(quiet["id"]))
    assert resumed.reset == Reset("last_event_id_unknown")
    complete = fanout.subscribe(["quiet"], last_event_id=str(quiet["id"]))
    assert complete.reset is None
    assert complete.replay == []


def test_the_buffer_holds_at_most_max_buffered_messages_across_topics() -> None:
    fanout = Fanout(replay_size=5, queue_size=8, max_buffered=10)
    early = message(0)
    fanout.deliver("t0", early)
    for n in range(1, 50):
        fanout.deliver(f"t{n}", message(n))
    assert fanout._buffered == 10
    assert len(fanout._by_id) == 10
    resumed = fanout.subscribe(["t0"], last_event_id=str(early["id"]))
    assert resumed.reset == Reset("last_event_id_unknown")


def test_a_gap_tells_live_subscribers_to_reset_and_forgets_history() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    before = message(0)
    fanout.deliver("a", before)
    live = fanout.subscribe(["a"])
    fanout.gap("bus_reconnected")
    assert drain(live) == [Reset("bus_reconnected")]
    assert fanout.subscribe(["a"], last_event_id=str(before["id"])).reset is not None


def test_close_ends_every_subscription_after_what_it_already_has() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    subscription = fanout.subscribe(["a", "b"])
    fanout.deliver("a", message(0))
    fanout.close()
    items = drain(subscription)
    assert numbers(items) == [0]
    assert items[-1] == Closed("shutdown")
    assert fanout.subscriber_count() == 0
    late = fanout.subscribe(["a"])
    assert drain(late) == [Closed("shutdown")]


def test_closing_a_subscription_unsubscribes_it() -> None:
    fanout = Fanout(replay_size=5, queue_size=8)
    subscription = fanout.subscribe(["a", "b"])
    subscription.close()
    subscription.close()
    fanout.deliver("a", message(0))
    assert subscription.pending() == 0
    assert fanout.subscriber_count() == 0
