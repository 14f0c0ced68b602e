"""Deleting an event takes its tiers, products and posts (and the posts' coupons) with it in one
transaction, and its follow-up job announces the products deleted on the shop's topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.core.clock import FrozenClock
from admitone.core.db import UnitOfWork
from admitone.events import deletion
from admitone.events import service as events_service
from admitone.events.models import Event, Tier
from admitone.jobs.models import JobState
from admitone.jobs.worker import drain
from admitone.posts.models import Coupon, Post
from admitone.runtime import Runtime
from admitone.shop.models import Product
from tests.posts.conftest import POSTS, Seller, buy, create_coupon, purchase_body
from tests.support.envelope import assert_envelope
from tests.support.reads import jobs_of
from tests.ticketing.conftest import make_event

SEED_MESSAGE = "This event can't be deleted because it already has customer orders."


@pytest.fixture
def published(runtime: Runtime) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    original = runtime.bus.publish

    async def spy(topic: str, message: Any) -> None:
        sent.append((topic, dict(message)))
        await original(topic, message)

    runtime.bus.publish = spy  # type: ignore[method-assign]
    yield sent
    runtime.bus.publish = original  # type: ignore[method-assign]


async def _product(client: httpx.AsyncClient, seller: Seller, **changes: Any) -> str:
    body = {"name": "Tour shirt", "price": "25.00", **changes}
    response = await client.post("/api/shop/products", json=body, headers=seller.organizer.headers)
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def _event_post(client: httpx.AsyncClient, seller: Seller) -> dict[str, Any]:
    response = await client.post(
        f"/api/events/{seller.event.id}/posts", json={}, headers=seller.organizer.headers
    )
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def _world(client: httpx.AsyncClient, seller: Seller) -> dict[str, Any]:
    """Two products of the event, one of no event; a post from the event with a coupon, a post
    of the organizer's own with another."""
    event_id = str(seller.event.id)
    from_event = await _event_post(client, seller)
    own = await client.post(POSTS, json={"title": "News"}, headers=seller.organizer.headers)
    return {
        "products": [
            await _product(client, seller, event_id=event_id),
            await _product(client, seller, event_id=event_id, name="Parking"),
        ],
        "other_product": await _product(client, seller),
        "post": from_event["id"],
        "other_post": own.json()["id"],
        "coupon": (
            await create_coupon(client, seller.organizer, "POSTED", post_id=from_event["id"])
        )["id"],
        "other_coupon": (
            await create_coupon(client, seller.organizer, "KEPT", post_id=own.json()["id"])
        )["id"],
    }


async def _state(runtime: Runtime, seller: Seller, world: dict[str, Any]) -> dict[str, Any]:
    async with runtime.unit_of_work(readonly=True) as uow:
        session = uow.session
        event = await session.get(Event, seller.event.id)
        tiers = list(await session.scalars(select(Tier).where(Tier.event_id == seller.event.id)))

        async def get(model: type[Any], key: str) -> Any:
            return await session.get(model, uuid.UUID(key))

        return {
            "event": event.deleted_at if event else None,
            "tiers": {(t.deleted_at, t.is_available) for t in tiers},
            "products": {
                (p.deleted_at, p.is_available)
                for p in [await get(Product, key) for key in world["products"]]
            },
            "other_product": (await get(Product, world["other_product"])).deleted_at,
            "post": (await get(Post, world["post"])).deleted_at,
            "other_post": (await get(Post, world["other_post"])).deleted_at,
            "coupon": (await get(Coupon, world["coupon"])).deleted_at,
            "other_coupon": (await get(Coupon, world["other_coupon"])).deleted_at,
        }


async def test_deleting_an_event_soft_deletes_its_tiers_products_posts_and_their_coupons(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller, clock: FrozenClock
) -> None:
    world = await _world(client, seller)
    now = clock.now()

    response = await client.delete(
        f"/api/events/{seller.event.id}", headers=seller.organizer.headers
    )

    assert response.status_code == 200 and response.json() == "ok"
    assert await _state(runtime, seller, world) == {
        "event": now,
        "tiers": {(now, False)},
        "products": {(now, False)},
        "other_product": None,
        "post": now,
        "other_post": None,
        "coupon": now,
        "other_coupon": None,
    }
    # The post's coupon no longer works; the other one does (until the event is gone, anyway).
    assert (
        await client.get(f"{POSTS}/{world['post']}", headers=seller.organizer.headers)
    ).status_code == 404
    async with runtime.unit_of_work(readonly=True) as uow:
        actions = set(
            await uow.session.scalars(
                select(ActivityEntry.action).where(
                    ActivityEntry.action.in_(
                        ["shop.product_deleted", "posts.post_deleted", "posts.coupon_deleted"]
                    )
                )
            )
        )
    assert actions == {"shop.product_deleted", "posts.post_deleted", "posts.coupon_deleted"}


async def test_a_step_failing_halfway_rolls_the_whole_deletion_back(
    client: httpx.AsyncClient,
    runtime: Runtime,
    seller: Seller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await _world(client, seller)

    async def failing(uow: UnitOfWork, event_id: uuid.UUID, now: object) -> None:
        raise RuntimeError("a step fails after the products and posts were deleted")

    # After the shop's and posts' own steps, so their updates were made and must be undone.
    monkeypatch.setattr(deletion, "_delete_steps", [*deletion._delete_steps, failing])

    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            await events_service.delete_event(uow, seller.organizer.actor, seller.event.id)

    state = await _state(runtime, seller, world)
    assert state == {
        "event": None,
        "tiers": {(None, True)},
        "products": {(None, True)},
        "other_product": None,
        "post": None,
        "other_post": None,
        "coupon": None,
        "other_coupon": None,
    }
    assert await jobs_of(runtime, deletion.AFTER_DELETE_JOB) == []


async def test_an_event_with_a_paid_order_keeps_everything(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    world = await _world(client, seller)
    bought = await buy(
        client, seller.event.id, purchase_body([(seller.event.tier_ids[0], 1)], coupon=None)
    )
    assert bought.status_code == 201

    refused = await client.delete(
        f"/api/events/{seller.event.id}", headers=seller.organizer.headers
    )

    assert assert_envelope(refused, 400, "event_has_orders")["message"] == SEED_MESSAGE
    assert (await _state(runtime, seller, world))["products"] == {(None, True)}
    assert (await _state(runtime, seller, world))["post"] is None
    other = await client.delete(f"/api/events/{seller.event.id}", headers=seller.rival.headers)
    assert_envelope(other, 404, "event_not_found")


async def test_a_priced_product_line_keeps_an_event_whose_tickets_were_free(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    event = await make_event(runtime, seller.organizer.user, tiers=[("Free", "0.00", 10)])
    shirt = await _product(client, seller, event_id=str(event.id))
    free = purchase_body([(event.tier_ids[0], 1)], coupon=None)
    assert (await buy(client, event.id, free)).status_code == 201  # free lines never block
    body = purchase_body([(event.tier_ids[0], 1)], coupon=None, email="shirt@example.com")
    body["order"]["products"] = [{"product_id": shirt, "quantity": 1}]
    bought = await buy(client, event.id, body)
    assert bought.status_code == 201, bought.text
    assert bought.json()["total"] == "25.00"

    refused = await client.delete(f"/api/events/{event.id}", headers=seller.organizer.headers)

    assert assert_envelope(refused, 400, "event_has_orders")["message"] == SEED_MESSAGE
    async with runtime.unit_of_work(readonly=True) as uow:
        product = await uow.session.get(Product, uuid.UUID(shirt))
    assert product is not None and product.deleted_at is None


async def test_the_follow_up_job_announces_each_product_deleted_with_retries(
    client: httpx.AsyncClient,
    runtime: Runtime,
    seller: Seller,
    *,
    clock: FrozenClock,
    published: list[tuple[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await _world(client, seller)
    failures = 2

    async def flaky(uow: UnitOfWork, event_id: uuid.UUID) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("a downstream system is briefly unavailable")

    # First, as a downstream hook would be: the announcements come after it succeeds.
    monkeypatch.setattr(deletion, "_after_delete_hooks", [flaky, *deletion._after_delete_hooks])
    response = await client.delete(
        f"/api/events/{seller.event.id}", headers=seller.organizer.headers
    )
    assert response.status_code == 200
    published.clear()

    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert (job.max_attempts, job.attempt) == (3, 0)
    started = clock.now()
    assert await drain(runtime) == 1
    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    # Exponential from 1 s with equal jitter: the first wait is between 0.5 s and 1 s ...
    assert (job.state, job.attempt) == (JobState.RETRYABLE, 1)
    assert timedelta(seconds=0.5) <= job.run_at - started <= timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))
    assert await drain(runtime) == 1
    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    # ... the second between 1 s and 2 s.
    assert (job.state, job.attempt) == (JobState.RETRYABLE, 2)
    assert timedelta(seconds=1) <= job.run_at - clock.now() <= timedelta(seconds=2)
    assert published == []
    clock.advance(timedelta(seconds=2))
    assert await drain(runtime) == 1

    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert (job.state, job.attempt) == (JobState.COMPLETED, 3)
    deleted = {
        (topic, message["payload"]["product_id"])
        for topic, message in published
        if message["type"] == "product_deleted"
    }
    expected = {("shop:products", p) for p in world["products"]} | {
        (f"shop:products:{p}", p) for p in world["products"]
    }
    assert deleted == expected


async def test_the_follow_up_job_gives_up_after_three_attempts(
    client: httpx.AsyncClient,
    runtime: Runtime,
    seller: Seller,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(uow: UnitOfWork, event_id: uuid.UUID) -> None:
        raise ConnectionError("down for good")

    monkeypatch.setattr(deletion, "_after_delete_hooks", [broken])
    await client.delete(f"/api/events/{seller.event.id}", headers=seller.organizer.headers)
    for _ in range(3):
        assert await drain(runtime) == 1
        clock.advance(timedelta(seconds=4))

    [job] = await jobs_of(runtime, deletion.AFTER_DELETE_JOB)
    assert (job.state, job.attempt) == (JobState.DEAD, 3)
