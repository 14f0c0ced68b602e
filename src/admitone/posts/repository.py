"""Queries of posts and coupons, scoped by who asks (rule 8: someone else's is a 404)."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, false, select

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.posts.errors import CouponNotFound, PostNotFound
from admitone.posts.models import Coupon, Post, PostStatus


def live_posts() -> Select[Post]:
    return select(Post).where(Post.deleted_at.is_(None))


def live_coupons() -> Select[Coupon]:
    return select(Coupon).where(Coupon.deleted_at.is_(None))


def visible_posts(viewer: Actor) -> Select[Post]:
    """Published posts for everyone; drafts to their organizer and staff."""
    stmt = live_posts()
    if viewer.is_staff:
        return stmt
    published = Post.status == PostStatus.PUBLISHED.value
    if viewer.uuid is None:
        return stmt.where(published)
    return stmt.where(published | (Post.organizer_id == viewer.uuid))


def managed_posts(actor: Actor) -> Select[Post]:
    if actor.is_staff:
        return live_posts()
    return live_posts().where(Post.organizer_id == actor.uuid if actor.uuid else false())


def managed_coupons(actor: Actor) -> Select[Coupon]:
    if actor.is_staff:
        return live_coupons()
    return live_coupons().where(Coupon.organizer_id == actor.uuid if actor.uuid else false())


async def visible_post(uow: UnitOfWork, viewer: Actor, post_id: uuid.UUID) -> Post:
    post = await uow.session.scalar(visible_posts(viewer).where(Post.id == post_id))
    if post is None:
        raise PostNotFound()
    return post


async def managed_post(uow: UnitOfWork, actor: Actor, post_id: uuid.UUID) -> Post:
    stmt = managed_posts(actor).where(Post.id == post_id)
    post = await uow.session.scalar(stmt.execution_options(populate_existing=True))
    if post is None:
        raise PostNotFound()
    return post


async def managed_coupon(uow: UnitOfWork, actor: Actor, coupon_id: uuid.UUID) -> Coupon:
    stmt = managed_coupons(actor).where(Coupon.id == coupon_id)
    coupon = await uow.session.scalar(stmt.execution_options(populate_existing=True))
    if coupon is None:
        raise CouponNotFound()
    return coupon
