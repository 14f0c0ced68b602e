"""Posts over the API: an organizer's drafts are theirs, published posts are everyone's, a post
made from an event follows it, deleting a post removes its coupons; activity stays PII-free."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.posts.conftest import POSTS, Seller, buy, create_coupon, purchase_body
from tests.support.envelope import assert_envelope


async def test_an_organizer_writes_publishes_changes_and_deletes_a_post(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    who = seller.organizer
    created = await client.post(
        POSTS, json={"title": " Line-up ", "body": "Who plays when."}, headers=who.headers
    )
    assert created.status_code == 201, created.text
    post = created.json()
    assert (post["title"], post["status"], post["created_from_event_id"]) == (
        "Line-up",
        "draft",
        None,
    )
    url = f"{POSTS}/{post['id']}"
    # A draft is its organizer's alone.
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=seller.rival.headers)).status_code == 404
    assert (await client.get(POSTS)).json()["data"] == []

    published = await client.put(url, json={"status": "published"}, headers=who.headers)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert (await client.get(url)).json()["title"] == "Line-up"
    assert [p["id"] for p in (await client.get(POSTS)).json()["data"]] == [post["id"]]

    assert_envelope(
        await client.put(url, json={"title": "Mine"}, headers=seller.rival.headers),
        404,
        "post_not_found",
    )
    assert (await client.delete(url, headers=seller.rival.headers)).status_code == 404
    assert (await client.delete(url, headers=who.headers)).status_code == 204
    assert (await client.get(url, headers=who.headers)).status_code == 404


async def test_a_post_from_an_event_takes_its_name_and_only_its_organizer_may_make_it(
    client: httpx.AsyncClient, seller: Seller
) -> None:
    url = f"/api/events/{seller.event.id}/posts"
    made = await client.post(url, json={"status": "published"}, headers=seller.organizer.headers)
    assert made.status_code == 201, made.text
    assert made.json()["title"] == "Concert"
    assert made.json()["created_from_event_id"] == str(seller.event.id)
    listed = await client.get(POSTS, params={"event_id": str(seller.event.id)})
    assert [p["id"] for p in listed.json()["data"]] == [made.json()["id"]]

    assert_envelope(
        await client.post(url, json={}, headers=seller.rival.headers), 404, "event_not_found"
    )
    assert (await client.post(url, json={}, headers=seller.customer.headers)).status_code == 403


async def test_bad_post_input_is_a_422(client: httpx.AsyncClient, seller: Seller) -> None:
    for body in (
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "a\nb"},
        {"title": "ok", "status": "secret"},
        {"title": "ok", "body": "nul\x00"},
        {"title": "ok", "extra": 1},
    ):
        response = await client.post(POSTS, json=body, headers=seller.organizer.headers)
        assert response.status_code == 422, (body, response.text)
    post = await client.post(POSTS, json={"title": "ok"}, headers=seller.organizer.headers)
    refused = await client.put(
        f"{POSTS}/{post.json()['id']}", json={"title": None}, headers=seller.organizer.headers
    )
    assert refused.status_code == 422


async def test_deleting_a_post_removes_its_coupons(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    post = await client.post(POSTS, json={"title": "Sale"}, headers=seller.organizer.headers)
    coupon = await create_coupon(client, seller.organizer, "SALE", post_id=post.json()["id"])
    url = f"{POSTS}/{post.json()['id']}"

    assert (await client.delete(url, headers=seller.organizer.headers)).status_code == 204

    gone = await client.get(f"/api/coupons/{coupon['id']}", headers=seller.organizer.headers)
    assert gone.status_code == 404
    refused = await buy(
        client, seller.event.id, purchase_body([(seller.event.tier_ids[0], 1)], coupon="SALE")
    )
    assert_envelope(refused, 422, "coupon_invalid")


async def test_posts_and_coupons_activity_is_recorded_without_personal_data(
    client: httpx.AsyncClient, runtime: Runtime, seller: Seller
) -> None:
    post = await client.post(
        POSTS, json={"title": "Jane's party"}, headers=seller.organizer.headers
    )
    await create_coupon(client, seller.organizer, "JANE2026", post_id=post.json()["id"])
    await client.delete(f"{POSTS}/{post.json()['id']}", headers=seller.organizer.headers)

    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(
            await uow.session.scalars(
                select(ActivityEntry).where(ActivityEntry.action.like("posts.%"))
            )
        )
    assert {e.action for e in entries} == {
        "posts.post_created",
        "posts.coupon_created",
        "posts.post_deleted",
        "posts.coupon_deleted",
    }
    text = repr([e.meta for e in entries]).lower()
    assert "jane" not in text and "party" not in text
    assert all(e.actor_uuid == seller.organizer.user.id for e in entries)
