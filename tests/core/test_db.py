"""The database layer on both backends: aware UTC datetimes, SQLite's pragmas, the unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import IntegrityError, StatementError

from admitone.accounts.models import RefreshToken, User
from admitone.core import db as db_module
from admitone.core.db import Database
from admitone.core.errors import Conflict
from admitone.runtime import Runtime


def new_user(at: datetime) -> User:
    return User(
        id=uuid.uuid4(),
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        name="Time Traveller",
        password_hash=None,
        role="customer",
        created_at=at,
        updated_at=at,
    )


async def test_utc_datetimes_round_trip_aware(runtime: Runtime) -> None:
    paris_summer = timezone(timedelta(hours=2))
    moment = datetime(2026, 7, 14, 22, 30, 15, 123456, tzinfo=paris_summer)
    user = new_user(moment)
    async with runtime.unit_of_work() as uow:
        uow.session.add(user)
    async with runtime.unit_of_work(readonly=True) as uow:
        stored = await uow.session.scalar(select(User.created_at).where(User.id == user.id))
    assert stored == moment
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 20


async def test_datetimes_compare_in_time_order_across_offsets(runtime: Runtime) -> None:
    early = new_user(datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5))))  # 07:00Z
    late = new_user(datetime(2026, 1, 1, 8, 0, tzinfo=UTC))
    async with runtime.unit_of_work() as uow:
        uow.session.add_all([early, late])
    cutoff = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
    async with runtime.unit_of_work(readonly=True) as uow:
        after = (await uow.session.scalars(select(User.id).where(User.created_at > cutoff))).all()
    assert list(after) == [late.id]


async def test_naive_datetimes_are_refused(runtime: Runtime) -> None:
    with pytest.raises(StatementError, match="naive datetimes"):
        async with runtime.unit_of_work() as uow:
            uow.session.add(new_user(datetime(2026, 1, 1)))
            await uow.flush()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with database.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await database.dispose()


async def test_foreign_keys_are_enforced(runtime: Runtime) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    orphan = RefreshToken(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        family_id=uuid.uuid4(),
        token_hash="0" * 64,
        created_at=at,
        expires_at=at,
    )
    with pytest.raises(IntegrityError):
        async with runtime.unit_of_work() as uow:
            uow.session.add(orphan)


class KeepsChanges(Conflict):
    keeps_changes = True


async def test_unit_of_work_rolls_back_on_error_and_runs_nothing_after(runtime: Runtime) -> None:
    ran: list[str] = []

    async def side_effect() -> None:
        ran.append("side effect")

    user = new_user(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(Conflict):
        async with runtime.unit_of_work() as uow:
            uow.session.add(user)
            await uow.flush()
            uow.after_commit(side_effect)
            raise Conflict()
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.get(User, user.id) is None
    assert ran == []


async def test_an_error_that_keeps_changes_commits_them(runtime: Runtime) -> None:
    ran: list[str] = []

    async def side_effect() -> None:
        ran.append("side effect")

    user = new_user(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(KeepsChanges):
        async with runtime.unit_of_work() as uow:
            uow.session.add(user)
            uow.after_commit(side_effect)
            raise KeepsChanges()
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.get(User, user.id) is not None
    assert ran == ["side effect"]


async def test_ping_fails_on_an_unreachable_database() -> None:
    database = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        with pytest.raises(OSError):
            await database.ping()
    finally:
        await database.dispose()


async def test_a_pooled_connection_cut_while_idle_is_replaced_not_failed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        async with database.engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        # A restart or a firewall cuts the connection while it sits in the pool.
        admin_database = Database(postgres_url)
        try:
            async with admin_database.engine.connect() as admin:
                # Waits (up to 5 s) for the backend to be gone.
                await admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
                await admin.commit()
        finally:
            await admin_database.dispose()
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)

        async with database.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await database.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counted_ping(self: AsyncAdapt_asyncpg_connection) -> None:
        pings.append(self)
        real_ping(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted_ping)
    database = Database(postgres_url, pool_size=1, max_overflow=0)
    try:
        for _ in range(3):
            async with database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        await database.dispose()


async def test_buffered_items_are_written_together_at_commit_and_dropped_on_rollback(
    runtime: Runtime,
) -> None:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> None:
        writes.append(items)

    async with runtime.unit_of_work() as uow:
        for item in (1, 2, 3):
            uow.buffer("numbers", item, write)
        assert writes == []  # nothing before the commit
    assert writes == [[1, 2, 3]]

    async with runtime.unit_of_work() as uow:
        uow.buffer("numbers", 4, write)
        await uow.rollback()
        uow.buffer("numbers", 5, write)
    assert writes == [[1, 2, 3], [5]]


async def test_a_failed_savepoint_drops_its_rows_and_side_effects_and_keeps_the_rest(
    runtime: Runtime,
) -> None:
    writes: list[list[int]] = []
    ran: list[str] = []

    async def write(items: list[int]) -> None:
        writes.append(items)

    async def after() -> None:
        ran.append("after")

    kept, dropped = new_user(datetime.now(UTC)), new_user(datetime.now(UTC))
    async with runtime.unit_of_work() as uow:
        uow.session.add(kept)
        uow.buffer("numbers", 1, write)
        with pytest.raises(RuntimeError):
            async with uow.savepoint():
                uow.session.add(dropped)
                await uow.flush()
                uow.buffer("numbers", 2, write)
                uow.after_commit(after)
                raise RuntimeError("the block fails")
        uow.buffer("numbers", 3, write)
    assert writes == [[1, 3]] and ran == []
    async with runtime.unit_of_work(readonly=True) as uow:
        ids = set((await uow.session.scalars(select(User.id))).all())
    assert kept.id in ids and dropped.id not in ids
