"""The account itself goes last, after every other domain let go of it: its sign-in sessions
(refresh tokens) and the user row."""

from __future__ import annotations

from sqlalchemy import delete

from admitone.accounts.models import RefreshToken, User
from admitone.core.db import UnitOfWork
from admitone.core.personal_data import LAST, Erasure, Subject, register


async def erase_account(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    tokens = await uow.session.execute(
        delete(RefreshToken).where(RefreshToken.user_id == subject.user_id)
    )
    users = await uow.session.execute(
        delete(User).where(User.id == subject.user_id).execution_options(synchronize_session=False)
    )
    erasure.count(erasure.deleted, "sessions", tokens.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.deleted, "users", users.rowcount)  # type: ignore[attr-defined]


register("accounts", {"users", "refresh_tokens"}, erase_account, stage=LAST)
