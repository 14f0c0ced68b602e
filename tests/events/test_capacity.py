from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from admitone.core.clock import FrozenClock
from admitone.core.errors import DomainError
from admitone.events import service
from admitone.events.errors import SoldOut
from admitone.runtime import Runtime
from tests.events.conftest import create_event, published_event, reserve, tier_ids
from tests.support.reads import counters as read_counters
from tests.support.users import Signed


async def counters(runtime: Runtime, event_id: str) -> tuple[int, dict[str, int]]:
    return (await read_counters(runtime, uuid.UUID(event_id))).by_name()


async def refusal(runtime: Runtime, call: Callable[[Any], Awaitable[object]]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        async with runtime.unit_of_work() as uow:
            await call(uow)
    return caught.value


async def two_tier_event(
    client: httpx.AsyncClient, organizer: Signed, **extra: Any
) -> dict[str, Any]:
    return await published_event(
        client,
        organizer,
        ticket_price=None,
        total_tickets=None,
        tiers=[
            {"name": "General", "price": "10.00", "capacity": 10, "max_per_order": 6},
            {"name": "VIP", "price": "30.00", "capacity": 3},
        ],
        **extra,
    )


async def test_reserve_and_release_move_the_event_and_tier_counters_together(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await two_tier_event(client, organizer)
    general, vip = tier_ids(event)

    await reserve(runtime, event, {general: 4, vip: 2})
    assert await counters(runtime, event["id"]) == (6, {"General": 4, "VIP": 2})

    async with runtime.unit_of_work() as uow:
        await service.release(uow, uuid.UUID(event["id"]), {general: 1, vip: 2})
    assert await counters(runtime, event["id"]) == (3, {"General": 3, "VIP": 0})


async def test_a_refused_tier_rolls_back_the_whole_reservation(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await two_tier_event(client, organizer)
    general, vip = tier_ids(event)

    error = await refusal(
        runtime, lambda uow: service.reserve(uow, uuid.UUID(event["id"]), {general: 2, vip: 4})
    )

    assert isinstance(error, SoldOut)
    assert (error.status_code, error.code) == (409, "sold_out")
    assert error.details["scope"] == "tier"
    assert error.details["tier"] == "VIP"
    assert error.details["remaining"] == 3
    assert await counters(runtime, event["id"]) == (0, {"General": 0, "VIP": 0})


async def test_the_event_cap_refuses_before_any_tier(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await two_tier_event(client, organizer, max_attendees=5)
    general, vip = tier_ids(event)
    await reserve(runtime, event, {general: 4})

    error = await refusal(
        runtime, lambda uow: service.reserve(uow, uuid.UUID(event["id"]), {vip: 2})
    )
    assert (error.code, error.details["scope"], error.details["remaining"]) == (
        "sold_out",
        "event",
        1,
    )
    assert await counters(runtime, event["id"]) == (4, {"General": 4, "VIP": 0})


async def test_release_never_takes_a_counter_below_zero(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await two_tier_event(client, organizer)
    general, _ = tier_ids(event)
    await reserve(runtime, event, {general: 1})

    async with runtime.unit_of_work() as uow:
        await service.release(uow, uuid.UUID(event["id"]), {general: 3})
    assert await counters(runtime, event["id"]) == (0, {"General": 0, "VIP": 0})


async def test_check_purchasable_names_each_broken_rule(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime, clock: FrozenClock
) -> None:
    event = await two_tier_event(client, organizer)
    event_id = uuid.UUID(event["id"])
    general, vip = tier_ids(event)
    other = await published_event(client, organizer)
    draft = await create_event(client, organizer)

    async def code(target: uuid.UUID, lines: dict[uuid.UUID, int]) -> tuple[int, str]:
        error = await refusal(runtime, lambda uow: service.check_purchasable(uow, target, lines))
        return error.status_code, error.code

    assert await code(uuid.UUID(draft["id"]), {general: 1}) == (404, "event_not_found")
    assert await code(uuid.uuid4(), {general: 1}) == (404, "event_not_found")
    assert await code(event_id, {tier_ids(other)[0]: 1}) == (422, "tier_not_in_event")
    assert await code(event_id, {general: 7}) == (422, "tier_max_per_order")
    assert await code(event_id, {general: 0}) == (422, "invalid_quantity")
    assert await code(event_id, {}) == (422, "invalid_quantity")

    async with runtime.unit_of_work() as uow:
        snapshot = await service.check_purchasable(uow, event_id, {general: 6, vip: 3})
        assert service.default_tier_id(snapshot) == general
        assert snapshot.tiers[0].price == 1000
        assert snapshot.currency == "USD"

    await client.put(
        f"/api/events/{event['id']}/tiers/{vip}",
        json={"tier": {"sales_start": "2026-06-02T00:00:00Z"}},
        headers=organizer.headers,
    )
    assert await code(event_id, {vip: 1}) == (409, "tier_not_on_sale")
    clock.advance(days=1)
    async with runtime.unit_of_work() as uow:
        await service.check_purchasable(uow, event_id, {vip: 1})

    clock.set(clock.now().replace(month=7, day=16))
    assert await code(event_id, {general: 1}) == (409, "event_over")
    async with runtime.unit_of_work() as uow:
        await service.complete_past_events(uow)
    assert await code(event_id, {general: 1}) == (409, "event_not_on_sale")


async def test_reserve_refuses_a_deleted_or_unpublished_event(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    draft = await create_event(client, organizer)
    error = await refusal(
        runtime,
        lambda uow: service.reserve(uow, uuid.UUID(draft["id"]), {tier_ids(draft)[0]: 1}),
    )
    assert error.code == "event_not_found"

    event = await published_event(client, organizer)
    assert (
        await client.delete(f"/api/events/{event['id']}", headers=organizer.headers)
    ).status_code == 200
    error = await refusal(
        runtime,
        lambda uow: service.reserve(uow, uuid.UUID(event["id"]), {tier_ids(event)[0]: 1}),
    )
    assert error.code == "event_not_found"
    missing = await refusal(
        runtime, lambda uow: service.get_event_snapshot(uow, uuid.UUID(event["id"]))
    )
    assert missing.code == "event_not_found"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_many_buyers_racing_for_the_last_seats_get_exactly_that_many(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    event = await two_tier_event(client, organizer, max_attendees=12)
    general, vip = tier_ids(event)
    await reserve(runtime, event, {general: 6})  # 6 left under the cap, 4 in General, 3 in VIP
    event_id = uuid.UUID(event["id"])

    async def buy(tier_id: uuid.UUID) -> bool:
        try:
            async with runtime.unit_of_work() as uow:
                await service.reserve(uow, event_id, {tier_id: 1})
        except SoldOut:
            return False
        return True

    outcomes = await asyncio.gather(*(buy(general if i % 2 else vip) for i in range(60)))

    assert sum(outcomes) == 6
    event_taken, tiers = await counters(runtime, event["id"])
    assert event_taken == 12
    assert tiers["General"] <= 10
    assert tiers["VIP"] <= 3
    assert tiers["General"] + tiers["VIP"] == 12
