"""Posts outlive their author (``author_deleted``, no author); an organizer's coupons are part
of their sales and must go first. Coupon redemptions keep only a hash of the buyer's key."""

from __future__ import annotations

from sqlalchemy import exists, select, update

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, UserOwnsOrganizerData, register
from admitone.posts.models import Coupon, Post


async def erase_authorship(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    # Even a withdrawn coupon names its organizer: orders point at it.
    if await uow.session.scalar(select(exists().where(Coupon.organizer_id == subject.user_id))):
        raise UserOwnsOrganizerData(details={"domain": "posts"})
    posts = await uow.session.execute(
        update(Post)
        .where(Post.organizer_id == subject.user_id)
        .values(organizer_id=None, author_deleted=True)
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.anonymised, "posts", posts.rowcount)  # type: ignore[attr-defined]


register("posts", {"posts", "coupons", "coupon_redemptions"}, erase_authorship)
