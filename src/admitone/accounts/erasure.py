"""The account itself goes last, after every other domain let go of it: its sign-in sessions
(refresh tokens) and the user row."""

from __future__ import annotations

from sqlalchemy import delete, select

from admitone.accounts.models import RefreshToken, User
from admitone.core.db import UnitOfWork
from admitone.core.personal_data import LAST, Erasure, Subject, register


async def erase_account(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    # Without waiting: a purchase in flight holds a share of the row (its order's foreign key)
    # and may be waiting for an order row the erasure took, so waiting here could close a
    # cycle. The deletion gives everything back and tries again instead (accounts.deletion).
    await uow.session.execute(
        select(User.id).where(User.id == subject.user_id).with_for_update(nowait=True)
    )
    tokens = await uow.session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == subject.user_id)
    )
    users = await uow.session.execute(
        delete(User).where(User.id == subject.user_id).execution_options(synchronize_session=False)
    )
    erasure.count(erasure.deleted, "sessions", tokens.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.deleted, "users", users.rowcount)  # type: ignore[attr-defined]


register("accounts", {"users", "refresh_tokens"}, erase_account, stage=LAST)
