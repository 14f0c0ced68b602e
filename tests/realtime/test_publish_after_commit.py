from __future__ import annotations

import uuid

import pytest

from admitone.accounts import service as accounts_service
from admitone.accounts import topics as accounts_topics
from admitone.accounts.errors import LastOwner
from admitone.accounts.models import Role
from admitone.core.actor import Actor
from admitone.core.errors import Conflict
from admitone.realtime import service as realtime
from admitone.realtime.errors import UnknownTopic
from admitone.realtime.fanout import Envelope, Subscription
from admitone.runtime import Runtime
from tests.conftest import create_user
from tests.realtime.topics_for_tests import NEWS


def received(subscription: Subscription) -> list[Envelope]:
    items = []
    while subscription.pending():
        item = subscription._queue.get_nowait()
        assert isinstance(item, Envelope)
        items.append(item)
    return items


async def test_a_rollback_publishes_nothing_and_a_commit_publishes_once(runtime: Runtime) -> None:
    subscription = runtime.bus.subscribe([NEWS.name()])

    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            realtime.publish(uow, NEWS, "news_posted", {"n": 1})
            raise RuntimeError("the use case failed after publishing")
    assert received(subscription) == []

    with pytest.raises(Conflict):
        async with runtime.unit_of_work() as uow:
            realtime.publish(uow, NEWS, "news_posted", {"n": 2})
            raise Conflict()
    assert received(subscription) == []

    async with runtime.unit_of_work() as uow:
        sent = realtime.publish(uow, NEWS, "news_posted", {"n": 3, "ref": uuid.UUID(int=7)})
        assert received(subscription) == []  # not before the commit
    [envelope] = received(subscription)
    assert envelope.topic == "testing:news"
    assert envelope.message == sent
    assert sent["type"] == "news_posted"
    assert sent["at"] == runtime.clock.now().isoformat()
    assert sent["payload"] == {"n": 3, "ref": str(uuid.UUID(int=7))}
    uuid.UUID(sent["id"])


async def test_publishing_on_an_undeclared_topic_fails_inside_the_transaction(
    runtime: Runtime,
) -> None:
    with pytest.raises(UnknownTopic):
        async with runtime.unit_of_work() as uow:
            realtime.publish(uow, "testing:undeclared", "oops", {})
    with pytest.raises(ValueError, match="message type"):  # would pose as a control event
        async with runtime.unit_of_work() as uow:
            realtime.publish(uow, NEWS, "reset", {})


async def test_a_role_change_is_announced_to_staff_after_it_commits(runtime: Runtime) -> None:
    owner = await create_user(runtime, Role.OWNER)
    customer = await create_user(runtime, Role.CUSTOMER)
    subscription = runtime.bus.subscribe([accounts_topics.USERS.name()])

    async with runtime.unit_of_work() as uow:
        await accounts_service.change_role(
            uow, Actor(owner.id, owner.role), customer.id, Role.ORGANIZER
        )
    [envelope] = received(subscription)
    assert envelope.message["type"] == "user_role_changed"
    assert envelope.message["payload"] == {
        "user_id": str(customer.id),
        "old_role": "customer",
        "role": "organizer",
        "changed_by": str(owner.id),
    }

    with pytest.raises(LastOwner):
        async with runtime.unit_of_work() as uow:
            await accounts_service.change_role(
                uow, Actor(owner.id, owner.role), owner.id, Role.CUSTOMER
            )
    assert received(subscription) == []
