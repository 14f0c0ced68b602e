"""Which addresses the API accepts, and one account per address however its letters are cased
(non-ASCII capitals included, on SQLite as on PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from admitone import schema
from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role, User
from admitone.config import Settings
from admitone.core.db import Database
from admitone.core.errors import InvalidInput
from admitone.core.orm import UTCDateTime
from admitone.core.security import hash_password
from admitone.runtime import Runtime
from tests.accounts.test_bad_input import register_body, user_count
from tests.conftest import PASSWORD, TEST_SECRET, create_user
from tests.support.envelope import assert_envelope
from tests.test_migrations import fresh_database


async def test_an_address_with_non_ascii_capitals_signs_in_however_it_is_typed(
    client: httpx.AsyncClient,
) -> None:
    registered = await client.post(
        "/api/auth/register", json=register_body(email="ÅSA.ÖBERG@Example.com")
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == "ÅSA.ÖBERG@example.com"  # kept as typed
    for typed in ("åsa.öberg@example.com", "Åsa.Öberg@EXAMPLE.com", "ÅSA.ÖBERG@example.com"):
        response = await client.post("/api/auth/login", json={"email": typed, "password": PASSWORD})
        assert response.status_code == 200, (typed, response.text)


@pytest.mark.parametrize(
    ("first", "second"),
    [("ÉLODIE@example.com", "élodie@example.com"), ("STRASSE@example.com", "straße@example.com")],
)
async def test_two_spellings_of_one_address_make_one_account(
    client: httpx.AsyncClient, runtime: Runtime, first: str, second: str
) -> None:
    assert (
        await client.post("/api/auth/register", json=register_body(email=first))
    ).status_code == 201
    again = await client.post("/api/auth/register", json=register_body(email=second))
    assert_envelope(again, 409, "email_taken")
    assert await user_count(runtime) == 1


async def test_sign_in_accepts_the_demo_accounts_test_domain(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime, Role.OWNER, email="someone@admitone.test")
    response = await client.post(
        "/api/auth/login", json={"email": "someone@admitone.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == str(user.id)


@pytest.mark.parametrize(
    "address",
    ["someone@admitone.test", "someone@host.invalid", "someone@printer.local", "root@localhost"],
)
async def test_registration_refuses_an_address_no_mail_can_reach(
    client: httpx.AsyncClient, runtime: Runtime, address: str
) -> None:
    response = await client.post("/api/auth/register", json=register_body(email=address))
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == "email"
    assert await user_count(runtime) == 0


@pytest.mark.parametrize(
    "address", ["not-an-email", "a@b", "root@localhost", "x@host.invalid", "a b@example.com"]
)
async def test_sign_in_still_refuses_what_is_not_an_address(
    client: httpx.AsyncClient, address: str
) -> None:
    response = await client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert assert_envelope(response, 422, "validation_error")["details"]["field"] == "email"


async def test_an_account_made_outside_the_api_needs_a_valid_address(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput) as refused:
        await create_user(runtime, Role.OWNER, email="not-an-email")
    assert refused.value.details["field"] == "email"


async def test_an_address_changed_later_is_found_however_it_is_typed(runtime: Runtime) -> None:
    user = await create_user(runtime, email="before@example.com")
    async with runtime.unit_of_work() as uow:
        stored = await uow.session.get(User, user.id)
        assert stored is not None
        stored.email = "ÑANDÚ@example.com"
    async with runtime.unit_of_work(readonly=True) as uow:
        found = await accounts_service.get_by_email(uow, "ñandú@EXAMPLE.com")
        assert found is not None and found.id == user.id
        assert await accounts_service.get_by_email(uow, "before@example.com") is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_migration_folds_existing_addresses(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as database:
        await schema.upgrade(database, "0010_ledger_trigger_plans")
        await insert_user(database, "ÅSA@Example.com")
        await schema.upgrade(database, "0011_email_normalised")
        async with database.engine.connect() as conn:
            stored = await conn.scalar(sa.select(_users.c.email_normalised))
        assert stored == "åsa@example.com"
        settings = Settings(env="test", secret_key=TEST_SECRET, database_url=database.url)
        runtime = Runtime.build(settings)
        try:
            async with runtime.unit_of_work() as uow:
                user, _ = await accounts_service.login(
                    uow, settings, email="åsa@EXAMPLE.com", password=PASSWORD
                )
            assert user.email == "ÅSA@Example.com"
        finally:
            await runtime.close()


async def test_the_migration_refuses_two_accounts_of_one_address(tmp_path: Path) -> None:
    # Only SQLite could hold both: its lower(email) index folded ASCII letters only, where
    # PostgreSQL's folds every letter its locale knows (and refuses the second row here).
    async with fresh_database("sqlite", tmp_path) as database:
        await schema.upgrade(database, "0010_ledger_trigger_plans")
        await insert_user(database, "Élodie@example.com")
        await insert_user(database, "élodie@example.com")
        with pytest.raises(RuntimeError, match="same email address"):
            await schema.upgrade(database, "0011_email_normalised")
        assert await schema.current_revision(database) == "0010_ledger_trigger_plans"


_users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_normalised", sa.String()),
    sa.column("name", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("role", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


async def insert_user(database: Database, email: str) -> None:
    """A user row as revision 0010 knew it (no email_normalised yet)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.engine.begin() as conn:
        await conn.execute(
            _users.insert().values(
                id=uuid.uuid4(),
                email=email,
                name="Old",
                password_hash=await hash_password(PASSWORD),
                role="customer",
                created_at=now,
                updated_at=now,
            )
        )
