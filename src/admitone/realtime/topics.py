"""The topic registry: each domain declares its topics, and who may read them, in its own
``topics.py`` (one line per topic), and the stream endpoint asks the registry before subscribing.

A topic is ``:``-separated segments: lowercase literals (``tickets``, ``all``) and placeholders
(``{user_id}``) that stand for a UUID. Because a literal can never look like a UUID, a concrete
topic name matches at most one declared pattern, so resolution is one dictionary lookup.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput
from admitone.realtime.errors import DuplicateTopic, TooManyTopics, TopicForbidden, UnknownTopic

MAX_TOPICS_PER_STREAM = 20
MAX_TOPIC_LENGTH = 200

Params = Mapping[str, uuid.UUID]
Check = Callable[[UnitOfWork, Actor, Params], Awaitable[bool]]

_LITERAL = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SLOT = "{}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may read a topic. ``needs`` names the placeholders the check reads, so a topic that
    declares a policy it cannot satisfy fails at import time, not on the first request."""

    name: str
    check: Check
    needs: frozenset[str] = frozenset()


def public() -> Policy:
    """Anyone, guests included (event availability, the product catalogue)."""

    async def check(_uow: UnitOfWork, _actor: Actor, _params: Params) -> bool:
        return True

    return Policy("public", check)


def internal() -> Policy:
    """No stream: a topic the processes tell each other things on."""

    async def check(_uow: UnitOfWork, _actor: Actor, _params: Params) -> bool:
        return False

    return Policy("internal", check)


def staff() -> Policy:
    """Owners and admins only (``tickets:all``, ``accounts:users``)."""

    async def check(_uow: UnitOfWork, actor: Actor, _params: Params) -> bool:
        return actor.is_staff

    return Policy("staff", check)


def owner_or_staff(param: str = "user_id") -> Policy:
    """The user the topic is named after, and staff (``tickets:user:{user_id}``)."""

    async def check(_uow: UnitOfWork, actor: Actor, params: Params) -> bool:
        return actor.is_staff or (actor.uuid is not None and actor.uuid == params[param])

    return Policy("owner-or-staff", check, frozenset({param}))


@dataclass(frozen=True, slots=True)
class Topic:
    pattern: str
    policy: Policy
    description: str = ""
    params: tuple[str, ...] = field(default=())

    def name(self, **params: uuid.UUID | str) -> str:
        """The concrete topic name, e.g. ``USER_TICKETS.name(user_id=user.id)``."""
        if set(params) != set(self.params):
            raise TypeError(f"{self.pattern} needs exactly {sorted(self.params)}")
        segments = []
        for segment in self.pattern.split(":"):
            slot = _PLACEHOLDER.match(segment)
            segments.append(str(uuid.UUID(str(params[slot.group(1)]))) if slot else segment)
        return ":".join(segments)


class TopicRegistry:
    def __init__(self) -> None:
        self._by_shape: dict[str, Topic] = {}

    def declare(self, pattern: str, policy: Policy, description: str = "") -> Topic:
        shape, params = _parse_pattern(pattern)
        if len(set(params)) != len(params):
            raise ValueError(f"topic {pattern!r} repeats a placeholder")
        if not policy.needs <= set(params):
            raise ValueError(f"topic {pattern!r}: policy {policy.name} needs {set(policy.needs)}")
        if shape in self._by_shape:
            raise DuplicateTopic(f"{pattern!r} clashes with {self._by_shape[shape].pattern!r}")
        topic = Topic(pattern, policy, description, tuple(params))
        self._by_shape[shape] = topic
        return topic

    def __iter__(self) -> Iterator[Topic]:
        return iter(sorted(self._by_shape.values(), key=lambda t: t.pattern))

    def resolve(self, name: str) -> tuple[Topic, str, dict[str, uuid.UUID]]:
        """The declared topic a concrete name belongs to, the name in canonical form (lowercase
        UUIDs, so every process publishes and subscribes to the same channel) and its params."""
        segments = name.split(":") if 0 < len(name) <= MAX_TOPIC_LENGTH else []
        ids = {i: uuid.UUID(s) for i, s in enumerate(segments) if _UUID.match(s)}
        shape = ":".join(_SLOT if i in ids else s for i, s in enumerate(segments))
        topic = self._by_shape.get(shape)
        if topic is None:
            raise UnknownTopic(name)
        canonical = ":".join(str(ids[i]) if i in ids else s for i, s in enumerate(segments))
        return topic, canonical, dict(zip(topic.params, ids.values(), strict=True))

    def canonical(self, name: str) -> str:
        return self.resolve(name)[1]

    async def authorize(self, uow: UnitOfWork, actor: Actor, names: Iterable[str]) -> list[str]:
        """Canonical names of ``names`` if ``actor`` may read all of them; otherwise the first
        refusal. Unknown names are checked before any policy, so a typo is never a 403."""
        resolved = [self.resolve(name) for name in names]
        for topic, canonical, params in resolved:
            if not await topic.policy.check(uow, actor, params):
                raise TopicForbidden(canonical)
        return list(dict.fromkeys(canonical for _, canonical, _ in resolved))


def _parse_pattern(pattern: str) -> tuple[str, list[str]]:
    shape: list[str] = []
    params: list[str] = []
    for segment in pattern.split(":"):
        slot = _PLACEHOLDER.match(segment)
        if slot:
            shape.append(_SLOT)
            params.append(slot.group(1))
        elif _LITERAL.match(segment):
            shape.append(segment)
        else:
            raise ValueError(f"topic {pattern!r}: bad segment {segment!r}")
    return ":".join(shape), params


def parse_topic_list(raw: str, limit: int = MAX_TOPICS_PER_STREAM) -> list[str]:
    """``"a, b,a"`` -> ``["a", "b"]``: the ``topics`` query parameter of a stream."""
    names = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not names:
        raise InvalidInput("Name at least one topic.", field="topics")
    if len(names) > limit:
        raise TooManyTopics(limit)
    return names


# The process-wide registry every domain's ``topics.py`` declares into.
registry = TopicRegistry()


def topic(pattern: str, policy: Policy, description: str = "") -> Topic:
    """Declare a topic in the process-wide registry:
    ``USERS = topic("accounts:users", staff(), "what it carries")``."""
    return registry.declare(pattern, policy, description)
