"""Local fan-out shared by every bus: bounded per-subscriber queues and the replay buffer.

Every message a process sees gets a process-local sequence number. The replay buffer keeps the
last few messages of each topic; a client that reconnects with ``Last-Event-ID`` is sent what
followed that message on its topics, or told to reset when the buffer no longer reaches back
that far. A message on ``ACCESS_TOPIC`` is for no stream: it tells the subscriptions of the user
it names to check their right to their topics again. Nothing here grows without bound: a
subscriber whose queue is full is dropped (its queue is emptied at once), and the buffer holds
at most ``max_buffered`` messages in all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from prometheus_client import Counter

log = structlog.get_logger(__name__)

DROPPED = Counter(
    "admitone_realtime_dropped_subscribers_total",
    "Stream subscribers dropped because they did not keep up",
)

# Published after a user's role changed or the user was deleted (``realtime.service``).
ACCESS_TOPIC = "realtime:access"
USER_ACCESS_CHANGED = "user_access_changed"
USER_DELETED = "user_deleted"

CloseReason = Literal["slow_consumer", "shutdown"]
ResetReason = Literal["last_event_id_unknown", "bus_reconnected"]


@dataclass(frozen=True, slots=True)
class Envelope:
    seq: int
    topic: str
    message: Mapping[str, Any]

    @property
    def id(self) -> str | None:
        value = self.message.get("id")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Reset:
    """Messages may have been missed: the client should reload its state."""

    reason: ResetReason


@dataclass(frozen=True, slots=True)
class AccessChanged:
    """The subscriber's user changed role or was deleted: re-check its topics before reading on."""

    user_deleted: bool


@dataclass(frozen=True, slots=True)
class Closed:
    reason: CloseReason


Item = Envelope | Reset | AccessChanged | Closed


class Subscription:
    """What one stream reads: replayed messages first, then live ones, then a ``Closed``."""

    def __init__(
        self, fanout: Fanout, topics: frozenset[str], limit: int, user_id: uuid.UUID | None
    ) -> None:
        self.topics = topics
        self.user_id = user_id
        self.replay: list[Envelope] = []
        self.reset: Reset | None = None
        self._fanout = fanout
        self._limit = limit
        # Unbounded on purpose: ``offer`` enforces the limit, so that a final ``Closed`` always
        # fits even when the queue is full.
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self) -> int:
        return self._queue.qsize()

    def offer(self, item: Envelope | Reset | AccessChanged) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._limit:
            DROPPED.inc()
            log.warning("stream_subscriber_dropped", topics=sorted(self.topics), limit=self._limit)
            self._end("slow_consumer", discard_pending=True)
            return
        self._queue.put_nowait(item)

    async def get(self) -> Item:
        """The next item; after a ``Closed`` there is nothing more."""
        return await self._queue.get()

    def close(self) -> None:
        """Unsubscribe; safe to call more than once."""
        self._closed = True
        self._fanout.forget(self)

    def _end(self, reason: CloseReason, *, discard_pending: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.forget(self)
        if discard_pending:  # free a slow client's backlog now, not when it finally reads
            while not self._queue.empty():
                self._queue.get_nowait()
        self._queue.put_nowait(Closed(reason))


@dataclass
class _TopicBuffer:
    entries: deque[Envelope] = field(default_factory=deque)
    evicted_through: int = 0  # seq of the newest message of this topic no longer buffered


class Fanout:
    def __init__(self, *, replay_size: int, queue_size: int, max_buffered: int = 10_000) -> None:
        self._replay_size = replay_size
        self._queue_size = queue_size
        self._max_buffered = max_buffered
        self._seq = 0
        self._subscribers: dict[str, set[Subscription]] = {}
        self._by_user: dict[uuid.UUID, set[Subscription]] = {}
        # Least recently published topic first, so the global cap evicts quiet topics' history.
        self._buffers: OrderedDict[str, _TopicBuffer] = OrderedDict()
        self._by_id: dict[str, Envelope] = {}
        self._buffered = 0
        self._forgotten_through = 0  # newest seq of any topic whose whole buffer was evicted
        self._closed = False

    def subscribe(
        self,
        topics: Iterable[str],
        *,
        last_event_id: str | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Subscription:
        """Subscribe and take the replay in one synchronous step, so that no message can fall
        between the replayed ones and the live ones, or arrive twice. ``user_id``: whose right
        to the topics was checked, so that a change of that right reaches the subscription."""
        subscription = Subscription(self, frozenset(topics), self._queue_size, user_id)
        if self._closed:
            subscription._end("shutdown", discard_pending=False)
            return subscription
        if last_event_id:
            replay = self._replay_after(last_event_id, subscription.topics)
            if replay is None:
                subscription.reset = Reset("last_event_id_unknown")
            else:
                subscription.replay = replay
        for topic in subscription.topics:
            self._subscribers.setdefault(topic, set()).add(subscription)
        if user_id is not None:
            self._by_user.setdefault(user_id, set()).add(subscription)
        return subscription

    def forget(self, subscription: Subscription) -> None:
        for topic in subscription.topics:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[topic]
        if subscription.user_id is not None:
            of_user = self._by_user.get(subscription.user_id)
            if of_user is not None:
                of_user.discard(subscription)
                if not of_user:
                    del self._by_user[subscription.user_id]

    def subscriber_count(self) -> int:
        return len(self._all_subscribers())

    def deliver(self, topic: str, message: Mapping[str, Any]) -> None:
        if topic == ACCESS_TOPIC:
            self._access_changed(message)
            return
        self._seq += 1
        envelope = Envelope(self._seq, topic, message)
        self._remember(envelope)
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.offer(envelope)

    def _access_changed(self, message: Mapping[str, Any]) -> None:
        payload = message.get("payload")
        try:
            user_id = uuid.UUID(str(payload["user_id"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            log.warning("realtime_bad_access_message", type=message.get("type"))
            return
        change = AccessChanged(user_deleted=message.get("type") == USER_DELETED)
        for subscription in list(self._by_user.get(user_id, ())):
            subscription.offer(change)

    def gap(self, reason: ResetReason = "bus_reconnected") -> None:
        """Messages may have been lost (the bus reconnected): tell live subscribers to reset, and
        forget the history so that a resume across the gap resets too instead of lying."""
        self._buffers.clear()
        self._by_id.clear()
        self._buffered = 0
        self._forgotten_through = self._seq
        for subscription in self._all_subscribers():
            subscription.offer(Reset(reason))

    def close(self) -> None:
        self._closed = True
        for subscription in self._all_subscribers():
            subscription._end("shutdown", discard_pending=False)
        self._subscribers.clear()
        self._by_user.clear()

    def _all_subscribers(self) -> set[Subscription]:
        return {s for subs in self._subscribers.values() for s in subs}

    def _remember(self, envelope: Envelope) -> None:
        if self._replay_size == 0 or envelope.id is None:
            return
        buffer = self._buffers.get(envelope.topic)
        if buffer is None:
            buffer = self._buffers[envelope.topic] = _TopicBuffer()
        else:
            self._buffers.move_to_end(envelope.topic)
        buffer.entries.append(envelope)
        self._by_id[envelope.id] = envelope
        self._buffered += 1
        if len(buffer.entries) > self._replay_size:
            self._evict_oldest(envelope.topic)
        while self._buffered > self._max_buffered:
            self._evict_oldest(next(iter(self._buffers)))

    def _evict_oldest(self, topic: str) -> None:
        buffer = self._buffers[topic]
        old = buffer.entries.popleft()
        buffer.evicted_through = old.seq
        self._buffered -= 1
        if old.id is not None and self._by_id.get(old.id) is old:
            del self._by_id[old.id]
        if not buffer.entries:
            del self._buffers[topic]
            self._forgotten_through = max(self._forgotten_through, old.seq)

    def _replay_after(self, last_event_id: str, topics: frozenset[str]) -> list[Envelope] | None:
        """What followed ``last_event_id`` on ``topics``, or None when that cannot be known."""
        last = self._by_id.get(last_event_id)
        if last is None:
            return None
        replay: list[Envelope] = []
        for topic in topics:
            buffer = self._buffers.get(topic)
            if buffer is None:
                if self._forgotten_through > last.seq:
                    return None
                continue
            if buffer.evicted_through > last.seq:
                return None
            replay.extend(e for e in buffer.entries if e.seq > last.seq)
        replay.sort(key=lambda e: e.seq)
        return replay


class FanoutSubscriptions:
    """What both buses share: their local subscribers are served by this process's fanout."""

    fanout: Fanout

    def subscribe(
        self,
        topics: Iterable[str],
        *,
        last_event_id: str | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Subscription:
        return self.fanout.subscribe(topics, last_event_id=last_event_id, user_id=user_id)
