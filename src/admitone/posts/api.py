"""The posts and coupons API: thin handlers over ``admitone.posts.service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, status

from admitone.accounts.models import Role, User
from admitone.core.actor import current_actor
from admitone.http.deps import CurrentUser, Uow, public, require_roles
from admitone.http.params import Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router
from admitone.posts import service
from admitone.posts.models import Coupon, CouponScope, DiscountKind, Post, PostStatus
from admitone.posts.schemas import (
    CouponCreate,
    CouponOut,
    CouponPage,
    CouponUpdate,
    EventPostCreate,
    PostCreate,
    PostOut,
    PostPage,
    PostUpdate,
)

router = api_router(tags=["posts"])

Organizer = Annotated[User, Depends(require_roles(Role.ORGANIZER, Role.OWNER, Role.ADMIN))]


def _post_out(post: Post) -> PostOut:
    return PostOut(
        id=post.id,
        organizer_id=post.organizer_id,
        title=post.title,
        body=post.body,
        status=PostStatus(post.status),
        created_from_event_id=post.created_from_event_id,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


def _coupon_out(coupon: Coupon) -> CouponOut:
    scope = CouponScope(coupon.scope)
    targets = [uuid.UUID(t) for t in coupon.target_ids]
    return CouponOut(
        id=coupon.id,
        organizer_id=coupon.organizer_id,
        code=coupon.code,
        kind=DiscountKind(coupon.kind),
        percent_off=service.percent_text(coupon),
        amount_off=service.amount_text(coupon),
        currency=coupon.currency,
        starts_at=coupon.starts_at,
        ends_at=coupon.ends_at,
        usage_limit=coupon.usage_limit,
        uses=coupon.uses,
        per_buyer_limit=coupon.per_buyer_limit,
        scope=scope,
        tier_ids=targets if scope == CouponScope.TIERS else [],
        product_ids=targets if scope == CouponScope.PRODUCTS else [],
        post_id=coupon.post_id,
        created_at=coupon.created_at,
        updated_at=coupon.updated_at,
    )


# Posts


@router.get("/posts", responses=errors(401, 422))
@public
async def list_posts(
    uow: Uow,
    *,
    organizer_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> PostPage:
    """Published posts, and your own in any status; newest first. ``event_id``: the posts
    created from that event."""
    page = await service.list_posts(
        uow,
        current_actor(),
        organizer_id=organizer_id,
        event_id=event_id,
        limit=limit,
        cursor=cursor,
    )
    return PostPage(data=[_post_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/posts", status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 422))
async def create_post(body: PostCreate, _: Organizer, uow: Uow) -> PostOut:
    return _post_out(await service.create_post(uow, current_actor(), body))


@router.post(
    "/events/{event_id}/posts",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 404, 422),
)
async def create_post_from_event(
    event_id: uuid.UUID, body: EventPostCreate, _: Organizer, uow: Uow
) -> PostOut:
    """A post about one of your events, its title and body taken from the event unless given.
    Deleting the event deletes the post (and the post's coupons)."""
    return _post_out(await service.create_post_from_event(uow, current_actor(), event_id, body))


@router.get("/posts/{post_id}", responses=errors(401, 404, 422))
@public
async def get_post(post_id: uuid.UUID, uow: Uow) -> PostOut:
    return _post_out(await service.get_post(uow, current_actor(), post_id))


@router.put("/posts/{post_id}", responses=errors(401, 404, 422))
async def update_post(post_id: uuid.UUID, body: PostUpdate, _: CurrentUser, uow: Uow) -> PostOut:
    return _post_out(await service.update_post(uow, current_actor(), post_id, body))


@router.delete(
    "/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 404, 422)
)
async def delete_post(post_id: uuid.UUID, _: CurrentUser, uow: Uow) -> None:
    """Soft-deletes the post and removes its coupons."""
    await service.delete_post(uow, current_actor(), post_id)


# Coupons


@router.get("/coupons", responses=errors(401, 403, 422))
async def list_coupons(
    _: Organizer,
    uow: Uow,
    *,
    post_id: uuid.UUID | None = None,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> CouponPage:
    """Your coupons (staff: everyone's), newest first."""
    page = await service.list_coupons(
        uow, current_actor(), post_id=post_id, limit=limit, cursor=cursor
    )
    return CouponPage(data=[_coupon_out(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/coupons", status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 409, 422))
async def create_coupon(body: CouponCreate, _: Organizer, uow: Uow) -> CouponOut:
    """409 ``coupon_code_taken`` when you already have the code in any case; 422
    ``coupon_invalid_target`` for a tier, product or post that is not yours."""
    return _coupon_out(await service.create_coupon(uow, current_actor(), body))


@router.get("/coupons/{coupon_id}", responses=errors(401, 403, 404, 422))
async def get_coupon(coupon_id: uuid.UUID, _: Organizer, uow: Uow) -> CouponOut:
    return _coupon_out(await service.get_coupon(uow, current_actor(), coupon_id))


@router.put("/coupons/{coupon_id}", responses=errors(401, 403, 404, 422))
async def update_coupon(
    coupon_id: uuid.UUID, body: CouponUpdate, _: Organizer, uow: Uow
) -> CouponOut:
    """Change the valid window or the limits; a field sent as null clears it."""
    return _coupon_out(await service.update_coupon(uow, current_actor(), coupon_id, body))


@router.delete(
    "/coupons/{coupon_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404, 422),
)
async def delete_coupon(coupon_id: uuid.UUID, _: Organizer, uow: Uow) -> None:
    """Removed at once: a purchase with its code is refused; orders that used it keep it."""
    await service.delete_coupon(uow, current_actor(), coupon_id)
