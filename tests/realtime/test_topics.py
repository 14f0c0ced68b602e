from __future__ import annotations

import uuid
from typing import cast

import pytest

from admitone.core.actor import ANONYMOUS, Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput
from admitone.realtime.errors import DuplicateTopic, TooManyTopics, TopicForbidden, UnknownTopic
from admitone.realtime.topics import (
    TopicRegistry,
    owner_or_staff,
    parse_topic_list,
    public,
    staff,
)

NO_DB = cast(UnitOfWork, object())  # these policies never touch the database
ALICE = Actor(uuid.uuid4(), "customer")
BOB = Actor(uuid.uuid4(), "customer")
ADMIN = Actor(uuid.uuid4(), "admin")
OWNER = Actor(uuid.uuid4(), "owner")
ORGANIZER = Actor(uuid.uuid4(), "organizer")


@pytest.fixture
def registry() -> TopicRegistry:
    registry = TopicRegistry()
    registry.declare("tickets:all", staff())
    registry.declare("tickets:user:{user_id}", owner_or_staff())
    registry.declare("shop:products", public())
    return registry


async def test_a_users_topic_is_for_that_user_and_staff_only(registry: TopicRegistry) -> None:
    alices = f"tickets:user:{ALICE.uuid}"
    for reader in (ALICE, ADMIN, OWNER):
        assert await registry.authorize(NO_DB, reader, [alices]) == [alices]
    for stranger in (BOB, ORGANIZER, ANONYMOUS):
        with pytest.raises(TopicForbidden) as refused:
            await registry.authorize(NO_DB, stranger, [alices])
        assert refused.value.details == {"topic": alices}


async def test_staff_topics_refuse_guests_customers_and_organizers(
    registry: TopicRegistry,
) -> None:
    for reader in (ANONYMOUS, ALICE, ORGANIZER):
        with pytest.raises(TopicForbidden):
            await registry.authorize(NO_DB, reader, ["tickets:all"])
    assert await registry.authorize(NO_DB, ADMIN, ["tickets:all"]) == ["tickets:all"]


async def test_a_guest_reads_public_topics(registry: TopicRegistry) -> None:
    assert await registry.authorize(NO_DB, ANONYMOUS, ["shop:products"]) == ["shop:products"]


async def test_an_unknown_topic_is_reported_before_any_refusal(registry: TopicRegistry) -> None:
    with pytest.raises(UnknownTopic) as unknown:
        await registry.authorize(NO_DB, ANONYMOUS, ["tickets:all", "tickets:everything"])
    assert unknown.value.status_code == 422
    assert unknown.value.details["topic"] == "tickets:everything"


@pytest.mark.parametrize(
    "name",
    ["", "tickets", "tickets:user:", "tickets:user:42", "tickets:user:not-a-uuid", "x" * 300],
)
def test_malformed_topic_names_are_unknown(registry: TopicRegistry, name: str) -> None:
    with pytest.raises(UnknownTopic):
        registry.resolve(name)


def test_uuids_in_topic_names_are_canonicalised(registry: TopicRegistry) -> None:
    user_id = uuid.uuid4()
    topic, canonical, params = registry.resolve(f"tickets:user:{str(user_id).upper()}")
    assert topic.pattern == "tickets:user:{user_id}"
    assert canonical == f"tickets:user:{user_id}"
    assert params == {"user_id": user_id}
    assert topic.name(user_id=user_id) == canonical


def test_two_declarations_of_one_shape_are_refused(registry: TopicRegistry) -> None:
    with pytest.raises(DuplicateTopic):
        registry.declare("tickets:user:{id}", staff())


def test_a_policy_needing_a_missing_placeholder_is_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match="needs"):
        TopicRegistry().declare("tickets:mine", owner_or_staff("user_id"))


def test_topic_lists_are_trimmed_deduplicated_and_bounded() -> None:
    assert parse_topic_list(" a, b ,a,,") == ["a", "b"]
    with pytest.raises(InvalidInput):
        parse_topic_list(" , ")
    with pytest.raises(TooManyTopics):
        parse_topic_list(",".join(f"t{i}" for i in range(21)))
