"""The migrations build exactly the schema the models describe, on both backends, both ways."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from admitone import schema
from admitone.core.db import Database
from admitone.models import metadata
from tests.backends import pg_admin, pg_url, postgres_available
from tests.conftest import require_service


@asynccontextmanager
async def fresh_database(backend: str, directory: Path) -> AsyncIterator[Database]:
    """A database with no tables at all (not a copy of the migrated template)."""
    if backend == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{directory / 'empty.db'}")
        try:
            yield database
        finally:
            await database.dispose()
        return
    require_service("PostgreSQL", postgres_available())
    name = f"admitone_mig_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    database = Database(pg_url(name))
    try:
        yield database
    finally:
        await database.dispose()
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database(request.param, tmp_path) as database:
        yield database


async def schema_differences(database: Database) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes (lower(email)); Alembic warns and skips.
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            warnings.filterwarnings("ignore", message=".*expression.*not supported.*")
            return list(compare_metadata(context, metadata))

    async with database.engine.connect() as conn:
        return await conn.run_sync(compare)


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_migrations_build_the_models_schema_and_downgrade_cleanly(
    empty_database: Database,
) -> None:
    assert await schema.current_revision(empty_database) is None
    await schema.upgrade(empty_database)
    assert await schema.current_revision(empty_database) == schema.head_revision()
    assert await schema_differences(empty_database) == []
    assert await table_names(empty_database) == set(metadata.tables)

    await schema.downgrade(empty_database, "base")
    assert await schema.current_revision(empty_database) is None
    assert await table_names(empty_database) == set()

    await schema.upgrade(empty_database)
    assert await schema_differences(empty_database) == []


async def test_serving_an_unmigrated_postgres_database_is_refused(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as database:
        with pytest.raises(schema.SchemaOutdated, match="admitone migrate") as refused:
            await schema.ensure_current(database, auto_migrate=False)
        assert refused.value.code == "schema_outdated"
        assert await table_names(database) == set()


async def test_an_outdated_database_is_refused_with_its_revision(
    empty_database: Database,
) -> None:
    await schema.upgrade(empty_database, "0001_accounts")
    if schema.head_revision() == "0001_accounts":
        pytest.skip("only one migration exists")
    with pytest.raises(schema.SchemaOutdated, match="at revision 0001_accounts"):
        await schema.ensure_current(empty_database, auto_migrate=False)


async def test_embedded_sqlite_migrates_itself(tmp_path: Path) -> None:
    async with fresh_database("sqlite", tmp_path) as database:
        await schema.ensure_current(database, auto_migrate=True)
        assert await schema.current_revision(database) == schema.head_revision()
        assert await schema_differences(database) == []
