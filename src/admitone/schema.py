"""Alembic, driven from code: ``admitone migrate`` and the start-up check of ``serve``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from admitone.core.db import Database
from admitone.core.errors import DomainError


class SchemaOutdated(DomainError):
    status_code = 503
    code = "schema_outdated"


def _migrations_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parents[1] / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("the Alembic migrations directory is missing from this installation")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(database: Database) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with database.engine.connect() as conn:
        return await conn.run_sync(read)


async def upgrade(database: Database, revision: str = "head") -> None:
    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


async def downgrade(database: Database, revision: str) -> None:
    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


async def ensure_current(database: Database, *, auto_migrate: bool) -> None:
    """Refuse to serve a database whose schema is not the code's (embedded mode migrates)."""
    current, head = await current_revision(database), head_revision()
    if current == head:
        return
    if auto_migrate:
        await upgrade(database)
        return
    state = "not migrated" if current is None else f"at revision {current}"
    raise SchemaOutdated(
        f"The database is {state}, but this version of admitone needs revision {head}. "
        "Run `admitone migrate` first."
    )
