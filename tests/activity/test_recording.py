"""Who is recorded as acting, and how an entry lives and dies with its business transaction."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from admitone.accounts.models import Role, User
from admitone.activity import service as activity
from admitone.core.actor import SYSTEM, Actor, acting_as
from admitone.core.clock import FrozenClock
from admitone.core.ids import new_uuid
from admitone.runtime import Runtime
from tests.activity.conftest import entries, record_failures
from tests.conftest import PASSWORD, auth_headers, create_user, login


async def test_an_owner_changing_a_role_is_recorded_with_the_owner_as_actor(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, headers = await auth_headers(client, runtime, Role.OWNER)
    customer = await create_user(runtime, Role.CUSTOMER)

    response = await client.put(
        f"/api/users/{customer.id}/role", json={"role": "organizer"}, headers=headers
    )
    assert response.status_code == 200

    [entry] = await entries(runtime, "accounts.user_role_changed")
    assert (entry.actor_uuid, entry.actor_role, entry.mode) == (owner.id, "owner", "manual")
    assert (entry.resource_type, entry.resource_uuid) == ("user", customer.id)
    assert entry.meta == {"old_role": "customer", "new_role": "organizer"}


async def test_setting_the_same_role_again_records_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    customer = await create_user(runtime, Role.CUSTOMER)
    response = await client.put(
        f"/api/users/{customer.id}/role", json={"role": "customer"}, headers=headers
    )
    assert response.status_code == 200
    assert await entries(runtime, "accounts.user_role_changed") == []


async def test_sign_up_and_sign_in_are_recorded_as_the_new_user_without_personal_data(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    email, name = "ada.lovelace@example.com", "Ada Lovelace"
    response = await client.post(
        "/api/auth/register", json={"email": email, "name": name, "password": PASSWORD}
    )
    assert response.status_code == 201
    user_id = response.json()["id"]
    clock.advance(seconds=1)
    await login(client, email)

    recorded = await entries(runtime)
    assert [e.action for e in recorded] == ["accounts.user_registered", "accounts.session_started"]
    for entry in recorded:
        assert (str(entry.actor_uuid), entry.actor_role) == (user_id, "customer")
        assert str(entry.resource_uuid) == user_id
        row = json.dumps([entry.action, entry.resource_type, entry.meta]).lower()
        assert "ada" not in row
        assert "lovelace" not in row


async def test_a_job_or_the_cli_acting_as_system_records_an_automatic_entry(
    runtime: Runtime,
) -> None:
    with acting_as(SYSTEM):
        user = await create_user(runtime, Role.ORGANIZER)

    [entry] = await entries(runtime, "accounts.user_created")
    assert (entry.actor_uuid, entry.actor_role, entry.mode) == (None, "system", "auto")
    assert entry.resource_uuid == user.id
    assert entry.meta == {"role": "organizer"}


async def test_a_failed_activity_write_does_not_fail_the_role_change_and_is_counted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    customer = await create_user(runtime, Role.CUSTOMER)
    # The table disappearing makes the INSERT inside the savepoint fail; on PostgreSQL an
    # error outside a savepoint would also abort the whole business transaction.
    async with runtime.database.engine.begin() as conn:
        await conn.execute(text("DROP TABLE activity_entries"))
    failures = record_failures("write_error")

    response = await client.put(
        f"/api/users/{customer.id}/role", json={"role": "organizer"}, headers=headers
    )

    assert response.status_code == 200
    assert response.json()["role"] == "organizer"
    assert record_failures("write_error") == failures + 1
    async with runtime.unit_of_work(readonly=True) as uow:
        stored = await uow.session.get(User, customer.id)
        assert stored is not None
        assert stored.role == "organizer"


async def test_an_entry_vanishes_with_a_business_transaction_that_rolls_back(
    runtime: Runtime,
) -> None:
    with pytest.raises(RuntimeError):
        async with runtime.unit_of_work() as uow:
            with acting_as(Actor(new_uuid(), "admin")):
                await activity.record(uow, "billing.order_created", resource_type="order")
            raise RuntimeError("the use case failed after recording")
    assert await entries(runtime) == []


async def test_the_callers_own_database_errors_are_not_swallowed_as_logging_failures(
    runtime: Runtime,
) -> None:
    existing = await create_user(runtime, Role.CUSTOMER)
    with pytest.raises(IntegrityError):
        async with runtime.unit_of_work() as uow:
            duplicate = User(
                email=existing.email,
                name="Twin",
                role="customer",
                created_at=uow.clock.now(),
                updated_at=uow.clock.now(),
            )
            uow.session.add(duplicate)
            await activity.record(uow, "accounts.user_created", resource_type="user")
    async with runtime.unit_of_work(readonly=True) as uow:
        emails = (await uow.session.scalars(select(User.email))).all()
    assert list(emails) == [existing.email]
