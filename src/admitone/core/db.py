"""Engine, sessions and the unit of work.

The boundary (a request or a job run) opens one unit of work and commits it; services only
``flush()``. Side effects (pub/sub messages, wake-ups) are buffered on the unit of work and run
after a successful commit, so a rollback leaves no trace outside the database.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import structlog
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from admitone.core.clock import Clock
from admitone.core.errors import DomainError

log = structlog.get_logger(__name__)

AfterCommit = Callable[[], Awaitable[None]]
BufferWriter = Callable[[list[Any]], Awaitable[None]]
PING_AFTER_IDLE_SECONDS = 5.0
_BEGIN_OPTION = "admitone_sqlite_begin"


class Publisher(Protocol):
    async def publish(self, topic: str, message: Mapping[str, Any]) -> None: ...


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 10, max_overflow: int = 20, echo: bool = False
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # An error's message and SQLAlchemy's statement log would otherwise carry the
        # statement's parameters (emails, names, password hashes) into logs and job errors.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        event.listen(self.engine.sync_engine, "handle_error", _drop_row_values)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            # A writer takes SQLite's write lock when it begins, so two writers queue on the
            # busy timeout instead of failing when a reader upgrades to a writer mid-transaction.
            writer = self.engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        else:
            _ping_after_idle(self.engine)
            writer = self.engine
        self._writer = async_sessionmaker(writer, expire_on_commit=False)
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self, *, readonly: bool = False) -> AsyncSession:
        return (self._reader if readonly else self._writer)()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _drop_row_values(context: ExceptionContext) -> None:
    """PostgreSQL's DETAIL repeats the row's values ("Key (email)=(...) already exists",
    "Failing row contains (...)"), and a logged traceback prints it whatever
    ``hide_parameters`` says. Nothing reads it, so it is dropped where the error is raised."""
    error: BaseException | None = context.original_exception
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "detail", None) is not None:
            error.detail = None  # type: ignore[attr-defined]
        error = error.__cause__


def _ping_after_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only when it has sat idle a while.

    ``pool_pre_ping`` checks it on every checkout, and asyncpg's ping is three round trips
    (BEGIN, an empty query, ROLLBACK): under load it was a fifth of a purchase's time. A
    connection in steady use is known to be alive; one that idled may have been cut by a
    restart or a firewall, and a failed ping makes the pool replace it instead of failing the
    request.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that "begin" below decides how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


class UnitOfWork:
    """One transaction plus what must happen only if it commits."""

    def __init__(
        self, session: AsyncSession, clock: Clock, publisher: Publisher | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self._publisher = publisher
        self._after_commit: list[AfterCommit] = []
        self._buffers: dict[str, tuple[BufferWriter, list[Any]]] = {}
        self._messages: list[tuple[str, Mapping[str, Any]]] = []

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)

    def buffer(self, name: str, item: Any, write: BufferWriter) -> None:
        """Keep ``item`` until the commit, when ``write`` gets everything buffered under ``name``
        in one call, still inside this transaction: rows that many steps of a use case add
        (activity entries) cost one statement instead of one each. A rollback drops them."""
        self._buffers.setdefault(name, (write, []))[1].append(item)

    async def write_buffered(self) -> None:
        """Write the buffers now rather than at the commit, e.g. before taking a hot row lock
        that should be held only for the rest of the transaction."""
        while self._buffers:
            _, (write, items) = self._buffers.popitem()
            await write(items)

    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Buffer a pub/sub message; it is sent only if the transaction commits."""
        self._messages.append((topic, message))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A savepoint that undoes the block's side effects with its rows: what the block
        published, buffered or asked to run after the commit is dropped if it fails, so the
        transaction can go on (or try the block again) as if it never ran."""
        after_commit, messages = len(self._after_commit), len(self._messages)
        buffers = {name: (write, list(items)) for name, (write, items) in self._buffers.items()}
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self._after_commit[after_commit:]
            del self._messages[messages:]
            self._buffers = buffers
            raise

    async def flush(self) -> None:
        await self.session.flush()

    async def commit(self) -> None:
        try:
            await self.write_buffered()
            await self.session.commit()
        except BaseException:
            # SQLite keeps the transaction open when COMMIT itself fails (a deferred foreign key),
            # and the pool would hand that open transaction to the next unit of work.
            await self.rollback()
            raise
        callbacks, self._after_commit = self._after_commit, []
        messages, self._messages = self._messages, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the transaction stands; a failed side effect is only logged
                log.exception("after_commit_failed", callback=getattr(callback, "__name__", "?"))
        if self._publisher is not None:
            for topic, message in messages:
                try:
                    await self._publisher.publish(topic, message)
                except Exception:
                    log.exception("publish_failed", topic=topic)

    async def rollback(self) -> None:
        self._after_commit.clear()
        self._buffers.clear()
        self._messages.clear()
        await self.session.rollback()


@asynccontextmanager
async def unit_of_work(
    database: Database,
    clock: Clock,
    publisher: Publisher | None = None,
    *,
    readonly: bool = False,
) -> AsyncIterator[UnitOfWork]:
    """Open a unit of work that commits when the block succeeds and rolls back otherwise."""
    async with database.session(readonly=readonly) as session:
        uow = UnitOfWork(session, clock, publisher)
        try:
            yield uow
        except DomainError as exc:
            await (uow.commit() if exc.keeps_changes else uow.rollback())
            raise
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


# How a flow that spans transactions (rule 4) opens each of its short ones.
OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
