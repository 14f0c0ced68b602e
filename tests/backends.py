"""Test databases: one migrated template per backend and run, copied afresh for every test.

PostgreSQL copies with ``CREATE DATABASE ... TEMPLATE`` and SQLite copies the file, so each test
gets a real, migrated database of its own in tens of milliseconds and drops it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
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


class PostgresTemplate:
    def __init__(self) -> None:
        self.name = f"admitone_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def create(self) -> None:
        asyncio.run(pg_admin(f'CREATE DATABASE "{self.name}"'))
        asyncio.run(_migrate(pg_url(self.name)))

    def new_database(self) -> str:
        name = f"admitone_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
        return name

    @staticmethod
    def drop(name: str) -> None:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def destroy(self) -> None:
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
