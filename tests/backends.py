"""Test databases: one migrated template per backend and run, and a database of its own for
every test, as the template left it.

SQLite copies the template's file for each test. PostgreSQL copies with ``CREATE DATABASE ...
TEMPLATE``, but a copy (0.1-0.5 s) and its drop (a forced checkpoint, 0.1-0.7 s) cost more
than most tests, about ten minutes a run: a released database is emptied instead (every row
of every table deleted) and handed to the next test, when its schema is still the template's.
Where a test changed the schema (a table dropped, a trigger added, a setting), the database is
dropped and the next test gets a fresh copy.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import uuid
from pathlib import Path

import asyncpg

from admitone.core.db import Database
from admitone.schema import upgrade

PG_HOST = os.environ.get("ADMITONE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ADMITONE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ADMITONE_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("ADMITONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return port_open(PG_HOST, PG_PORT)


def redis_available() -> bool:
    return port_open("127.0.0.1", 6379)


def pg_url(name: str, driver: str = "postgresql+asyncpg") -> str:
    return f"{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


# Everything of a database's own that a test could change and that TRUNCATE does not put back:
# the schema (tables, columns, defaults, constraints, indexes, triggers and whether they are
# enabled, functions, types, rules, policies, grants), the database's settings, its extensions,
# large objects, prepared transactions and the migration version. Equal fingerprints mean
# that emptying the tables gives back the template.
_USER_NAMESPACE = "nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_toast'"
_FINGERPRINTED = [
    (
        "concat_ws(',', nspname, relname, relkind, relpersistence, relrowsecurity, relacl,"
        " reloptions)",
        f"pg_class c JOIN pg_namespace n ON n.oid = relnamespace WHERE {_USER_NAMESPACE}",
    ),
    (
        "concat_ws(',', attrelid::regclass, attnum, attname, atttypid::regtype, atttypmod,"
        " attnotnull, attisdropped, attidentity, attgenerated, pg_get_expr(adbin, adrelid))",
        "pg_attribute a JOIN pg_class c ON c.oid = attrelid"
        " JOIN pg_namespace n ON n.oid = relnamespace"
        " LEFT JOIN pg_attrdef d ON adrelid = attrelid AND adnum = attnum"
        f" WHERE {_USER_NAMESPACE}",
    ),
    (
        "concat_ws(',', conrelid::regclass, conname, pg_get_constraintdef(c.oid), convalidated)",
        f"pg_constraint c JOIN pg_namespace n ON n.oid = connamespace WHERE {_USER_NAMESPACE}",
    ),
    (
        "concat_ws(',', pg_get_indexdef(indexrelid), indisvalid, indisready)",
        "pg_index JOIN pg_class c ON c.oid = indrelid JOIN pg_namespace n ON n.oid = relnamespace"
        f" WHERE {_USER_NAMESPACE}",
    ),
    ("concat_ws(',', tgrelid::regclass, tgname, tgenabled, tgfoid::regproc, tgtype)", "pg_trigger"),
    (
        "concat_ws(',', p.oid::regprocedure, md5(prosrc), proacl)",
        f"pg_proc p JOIN pg_namespace n ON n.oid = pronamespace WHERE {_USER_NAMESPACE}",
    ),
    ("concat_ws(',', nspname, nspacl)", "pg_namespace"),
    (
        "concat_ws(',', t.oid::regtype, typtype)",
        f"pg_type t JOIN pg_namespace n ON n.oid = typnamespace WHERE {_USER_NAMESPACE}",
    ),
    ("concat_ws(',', enumtypid::regtype, enumsortorder, enumlabel)", "pg_enum"),
    (
        "concat_ws(',', ev_class::regclass, rulename, ev_enabled)",
        "pg_rewrite WHERE ev_class >= 16384",
    ),
    ("concat_ws(',', polrelid::regclass, polname)", "pg_policy"),
    ("concat_ws(',', evtname, evtenabled)", "pg_event_trigger"),
    ("concat_ws(',', extname, extversion)", "pg_extension"),
    (
        "concat_ws(',', setrole, setconfig)",
        "pg_db_role_setting JOIN pg_database d ON d.oid = setdatabase"
        " WHERE datname = current_database()",
    ),
    ("oid::text", "pg_largeobject_metadata"),
    ("gid", "pg_prepared_xacts WHERE database = current_database()"),
    ("version_num", "alembic_version"),
]


def _aggregated(item: str, source: str) -> str:
    select = f"SELECT {item} AS item FROM {source}"  # noqa: S608 - constants above
    return f"(SELECT string_agg(item, ';' ORDER BY item) FROM ({select}) s)"  # noqa: S608


_FINGERPRINT = f"SELECT md5(concat_ws('|', {', '.join(_aggregated(*f) for f in _FINGERPRINTED)}))"


class PostgresTemplate:
    def __init__(self) -> None:
        self.name = f"admitone_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._lock = threading.Lock()
        self._emptied: list[str] = []  # released, emptied and checked: ready for the next test
        self._made: set[str] = set()
        self._fingerprint: str | None = None
        self._tables: list[str] = []

    def create(self) -> None:
        asyncio.run(pg_admin(f'CREATE DATABASE "{self.name}"'))
        asyncio.run(_migrate(pg_url(self.name)))
        asyncio.run(self._inspect_template())

    def new_database(self) -> str:
        """A database as the template is, which no running test uses; ``release`` it after."""
        with self._lock:
            if self._emptied:
                return self._emptied.pop()
        name = f"admitone_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._copy(name))
        with self._lock:
            self._made.add(name)
        return name

    def release(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if it is no longer the template."""
        if asyncio.run(self._empty(name)):
            with self._lock:
                self._emptied.append(name)
            return
        with self._lock:
            self._made.discard(name)
        self.drop(name)

    async def _inspect_template(self) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=self.name)
        try:
            rows = await conn.fetch(
                "SELECT quote_ident(tablename) AS name FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY 1"
            )
        finally:
            await conn.close()
        self._tables = [row["name"] for row in rows]

    async def _copy(self, name: str) -> None:
        await pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        # A test database outlives no crash of the server, so a commit need not wait for the
        # WAL to reach the disk; what other connections see of a commit is the same.
        await pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        if self._fingerprint is None:
            conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
            try:
                self._fingerprint = await conn.fetchval(_FINGERPRINT)
            finally:
                await conn.close()

    async def _empty(self, name: str) -> bool:
        """Whether ``name`` is the template again: no other connection, same fingerprint,
        every table emptied."""
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
        try:
            # Connections a test left behind (a killed worker's, a pool closing late) end here,
            # as DROP DATABASE ... WITH (FORCE) would end them; each waited for up to 5 s.
            ended = await conn.fetch(
                "SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if not all(row["ended"] for row in ended):
                return False
            if await conn.fetchval(_FINGERPRINT) != self._fingerprint:
                return False
            async with conn.transaction():
                # The ledger's tables refuse changes by trigger, as the application must not
                # delete from them; a replica session fires no trigger (foreign keys included,
                # so the order does not matter). DELETE, not TRUNCATE: TRUNCATE makes new files
                # for every table and index, half a second where DELETE takes tens of ms.
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in self._tables:
                    await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the catalog
            return True
        finally:
            await conn.close()

    @staticmethod
    def drop(name: str) -> None:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def destroy(self) -> None:
        for name in self._made:
            self.drop(name)
        self.drop(self.name)


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "template.db"

    def create(self) -> None:
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{self.path}"))

    def new_database(self) -> str:
        target = self.directory / f"t_{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"
