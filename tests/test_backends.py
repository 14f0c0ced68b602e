"""The test databases themselves: a PostgreSQL database handed to a test is the migrated
template, empty, even when an earlier test used it; one whose schema a test changed is never
handed out again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import TypeVar

import asyncpg
import pytest

from tests.backends import PG_HOST, PG_PORT, PG_USER, PostgresTemplate, postgres_available
from tests.conftest import require_service

T = TypeVar("T")


@pytest.fixture(scope="module")
def template() -> Iterator[PostgresTemplate]:
    # A template of its own: the run's template hands its databases to other tests meanwhile.
    require_service("PostgreSQL", postgres_available())
    template = PostgresTemplate()
    template.create()
    yield template
    template.destroy()


async def _execute(name: str, *statements: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _fetchval(name: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=name)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_a_reused_database_is_empty_and_its_ledger_guards_still_hold(
    template: PostgresTemplate,
) -> None:
    first = await _in_thread(template.new_database)
    await _execute(
        first,
        "INSERT INTO alembic_version VALUES ('not-a-revision')",
        "DELETE FROM alembic_version WHERE version_num = 'not-a-revision'",
        "INSERT INTO job_cron_slots (name, last_slot) VALUES ('daily', now())",
    )
    # A connection the test left open does not keep its database from being reused.
    leftover = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=first)
    try:
        await _in_thread(template.release, first)
    finally:
        await leftover.close()

    second = await _in_thread(template.new_database)

    assert second == first
    assert await _fetchval(second, "SELECT count(*) FROM job_cron_slots") == 0
    assert await _fetchval(second, "SELECT count(*) FROM alembic_version") == 1
    assert await _fetchval(second, "SHOW session_replication_role") == "origin"
    with pytest.raises(asyncpg.RestrictViolationError, match="ledger_append_only"):
        await _execute(second, "TRUNCATE ledger_entries, ledger_lines")
    await _in_thread(template.release, second)


@pytest.mark.parametrize(
    "change",
    [
        "DROP TABLE activity_entries",
        "CREATE TABLE test_job_runs (job_id uuid NOT NULL)",
        "ALTER TABLE users ADD COLUMN extra int",
        "ALTER TABLE users ALTER COLUMN name DROP NOT NULL",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_truncate",
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
        "CREATE INDEX ix_extra ON users (name)",
        "UPDATE alembic_version SET version_num = 'other'",
        "ALTER DATABASE {name} SET work_mem = '8MB'",
    ],
)
async def test_a_database_whose_schema_a_test_changed_is_not_reused(
    template: PostgresTemplate, change: str
) -> None:
    first = await _in_thread(template.new_database)
    await _execute(first, change.format(name=f'"{first}"'))

    await _in_thread(template.release, first)
    second = await _in_thread(template.new_database)

    assert second != first
    dropped = "SELECT count(*) FROM pg_database WHERE datname = $1"
    assert await _fetchval("postgres", dropped, first) == 0
    await _in_thread(template.release, second)


async def _in_thread(function: Callable[..., T], *args: object) -> T:
    # The template runs event loops of its own (asyncio.run), which cannot start in this one.
    return await asyncio.to_thread(function, *args)
