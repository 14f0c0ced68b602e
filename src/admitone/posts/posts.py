"""Organizers' posts: create (from scratch or from an event), read, list, change, delete.

Deleting a post soft-deletes it and removes its coupons with it, in the caller's transaction:
a coupon advertised by a post that is gone must stop working at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update

from admitone.activity import service as activity_service
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.ids import new_uuid
from admitone.core.pagination import Page, paginate
from admitone.events import service as events_service
from admitone.posts import repository
from admitone.posts.models import Coupon, Post
from admitone.posts.schemas import EventPostCreate, PostCreate, PostUpdate


async def create_post(
    uow: UnitOfWork,
    actor: Actor,
    data: PostCreate,
    *,
    organizer_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> Post:
    owner = organizer_id or actor.uuid
    if owner is None:
        raise ValueError("a post needs a signed-in organizer")
    now = uow.clock.now()
    post = Post(
        id=new_uuid(),
        organizer_id=owner,
        title=data.title,
        body=data.body,
        status=data.status.value,
        created_from_event_id=event_id,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(post)
    await uow.flush()
    await _record(uow, "posts.post_created", post)
    return post


async def create_post_from_event(
    uow: UnitOfWork, actor: Actor, event_id: uuid.UUID, data: EventPostCreate
) -> Post:
    """A post about one of the actor's events (staff: anyone's, for its organizer); someone
    else's event is a 404. Deleting the event deletes the post."""
    organizer_id = await events_service.managed_event_organizer(uow, actor, event_id)
    event = await events_service.get_event_snapshot(uow, event_id)
    body = data.body
    if body is None:
        body = f"{event.venue}, {event.starts_at.isoformat()}"
    post = PostCreate(title=data.title or event.name[:200], body=body, status=data.status)
    return await create_post(uow, actor, post, organizer_id=organizer_id, event_id=event_id)


async def update_post(uow: UnitOfWork, actor: Actor, post_id: uuid.UUID, data: PostUpdate) -> Post:
    post = await repository.managed_post(uow, actor, post_id)
    old_status = post.status
    if data.title is not None:
        post.title = data.title
    if data.body is not None:
        post.body = data.body
    if data.status is not None:
        post.status = data.status.value
    post.updated_at = uow.clock.now()
    await uow.flush()
    await _record(uow, "posts.post_updated", post, old_status=old_status)
    return post


async def delete_post(uow: UnitOfWork, actor: Actor, post_id: uuid.UUID) -> None:
    post = await repository.managed_post(uow, actor, post_id)
    await soft_delete_posts(uow, [post.id], uow.clock.now())


async def soft_delete_posts(
    uow: UnitOfWork, post_ids: Sequence[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Soft-delete live posts among ``post_ids`` and remove their coupons; answers the posts
    deleted. One UPDATE per table, so a post deleted twice (two requests, or an event deletion
    racing a post deletion) is deleted and announced once."""
    if not post_ids:
        return []
    deleted = list(
        await uow.session.scalars(
            update(Post)
            .where(Post.id.in_(post_ids), Post.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .returning(Post.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not deleted:
        return []
    coupons = list(
        await uow.session.scalars(
            update(Coupon)
            .where(Coupon.post_id.in_(deleted), Coupon.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .returning(Coupon.id)
            .execution_options(synchronize_session=False)
        )
    )
    for post_id in sorted(deleted):
        await activity_service.record(
            uow, "posts.post_deleted", resource_type="post", resource_uuid=post_id
        )
    for coupon_id in sorted(coupons):
        await activity_service.record(
            uow,
            "posts.coupon_deleted",
            resource_type="coupon",
            resource_uuid=coupon_id,
            metadata={"reason": "post_deleted"},
        )
    return deleted


async def delete_posts_of_event(uow: UnitOfWork, event_id: uuid.UUID, now: datetime) -> None:
    """The posts created from a deleted event go with it, and their coupons with them."""
    ids = list(
        await uow.session.scalars(
            repository.live_posts()
            .where(Post.created_from_event_id == event_id)
            .with_only_columns(Post.id)
        )
    )
    await soft_delete_posts(uow, ids, now)


async def get_post(uow: UnitOfWork, viewer: Actor, post_id: uuid.UUID) -> Post:
    return await repository.visible_post(uow, viewer, post_id)


async def list_posts(
    uow: UnitOfWork,
    viewer: Actor,
    *,
    organizer_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Post]:
    """Published posts, the viewer's own in any status; newest first."""
    stmt = repository.visible_posts(viewer)
    if organizer_id is not None:
        stmt = stmt.where(Post.organizer_id == organizer_id)
    if event_id is not None:
        stmt = stmt.where(Post.created_from_event_id == event_id)
    return await paginate(
        uow.session, stmt, created_at=Post.created_at, row_id=Post.id, limit=limit, cursor=cursor
    )


async def _record(uow: UnitOfWork, action: str, post: Post, **extra: str) -> None:
    await activity_service.record(
        uow,
        action,
        resource_type="post",
        resource_uuid=post.id,
        metadata={"status": post.status, "event_uuid": post.created_from_event_id, **extra}
        if post.created_from_event_id
        else {"status": post.status, **extra},
    )
