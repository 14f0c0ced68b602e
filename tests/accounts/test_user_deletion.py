"""Deleting an account: who may delete whom, the password on self-deletion, races, and that
one transaction does all of it or nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

import admitone.wiring  # noqa: F401 - every domain's personal data claim
from admitone.accounts import deletion
from admitone.accounts.models import RefreshToken, Role, User
from admitone.config import Settings
from admitone.core import personal_data
from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, RELAXED_RATE_LIMITS, auth_headers, make_client
from tests.support.envelope import assert_envelope
from tests.ticketing.conftest import make_event


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=RELAXED_RATE_LIMITS)


async def delete_user(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: uuid.UUID
) -> httpx.Response:
    return await client.delete(f"/api/admin/users/{user_id}", headers=headers)


async def delete_me(
    client: httpx.AsyncClient, headers: dict[str, str], password: str = PASSWORD
) -> httpx.Response:
    return await client.request("DELETE", "/api/me", json={"password": password}, headers=headers)


async def user_exists(runtime: Runtime, user_id: uuid.UUID) -> bool:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await uow.session.get(User, user_id) is not None


async def test_staff_delete_a_customer_whose_token_then_stops_working(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    customer, headers = await auth_headers(client, runtime, Role.CUSTOMER)

    response = await delete_user(client, admin, customer.id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == str(customer.id)
    assert body["deleted"]["users"] == 1
    assert body["deleted"]["sessions"] == 1
    assert "account_deleted" in body["irreversible"]
    assert not await user_exists(runtime, customer.id)
    assert_envelope(await client.get("/api/me", headers=headers), 401, "invalid_token")


async def test_a_second_deletion_of_the_same_user_is_404(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    customer, _ = await auth_headers(client, runtime, Role.CUSTOMER)
    assert (await delete_user(client, admin, customer.id)).status_code == 200
    assert_envelope(await delete_user(client, admin, customer.id), 404, "not_found")
    assert_envelope(await delete_user(client, admin, uuid.uuid4()), 404, "not_found")


async def test_staff_cannot_delete_themselves_on_the_admin_route(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin_user, admin = await auth_headers(client, runtime, Role.ADMIN)
    assert_envelope(await delete_user(client, admin, admin_user.id), 409, "cannot_delete_self")
    assert await user_exists(runtime, admin_user.id)


@pytest.mark.parametrize("target", [Role.ADMIN, Role.OWNER])
async def test_an_admin_cannot_delete_an_owner_or_an_admin(
    client: httpx.AsyncClient, runtime: Runtime, target: Role
) -> None:
    await auth_headers(client, runtime, Role.OWNER)  # never the last owner
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    victim, _ = await auth_headers(client, runtime, target)
    assert_envelope(await delete_user(client, admin, victim.id), 403, "insufficient_permissions")
    assert await user_exists(runtime, victim.id)


async def test_customers_cannot_delete_anyone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, customer = await auth_headers(client, runtime, Role.CUSTOMER)
    other, _ = await auth_headers(client, runtime, Role.CUSTOMER)
    assert (await delete_user(client, customer, other.id)).status_code == 403
    assert await user_exists(runtime, other.id)


async def test_an_owner_deletes_an_admin_and_another_owner_but_not_the_last_owner(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner_user, owner = await auth_headers(client, runtime, Role.OWNER)
    other_owner, other_headers = await auth_headers(client, runtime, Role.OWNER)
    admin_user, _ = await auth_headers(client, runtime, Role.ADMIN)
    assert (await delete_user(client, owner, admin_user.id)).status_code == 200
    assert (await delete_user(client, owner, other_owner.id)).status_code == 200
    # The one owner left cannot delete their own account either.
    assert_envelope(await delete_me(client, owner), 409, "cannot_delete_last_owner")
    assert await user_exists(runtime, owner_user.id)
    assert other_headers  # the deleted owner's token is the 401 case above


async def test_a_user_deletes_their_own_account_with_their_password(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, headers = await auth_headers(client, runtime, Role.CUSTOMER)
    response = await delete_me(client, headers)
    assert response.status_code == 200, response.text
    assert response.json()["deleted"]["users"] == 1
    assert not await user_exists(runtime, customer.id)


async def test_a_wrong_password_deletes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    customer, headers = await auth_headers(client, runtime, Role.CUSTOMER)
    body = assert_envelope(
        await delete_me(client, headers, "not the password"), 403, "wrong_password"
    )
    assert body["details"]["field"] == "password"
    assert await user_exists(runtime, customer.id)
    assert (await client.get("/api/me", headers=headers)).status_code == 200


async def test_two_deletions_at_once_delete_once_and_the_other_is_404(
    app: object, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, first = await auth_headers(client, runtime, Role.OWNER)
    _, second = await auth_headers(client, runtime, Role.OWNER)
    customer, _ = await auth_headers(client, runtime, Role.CUSTOMER)
    async with make_client(app, "203.0.113.8") as other:  # type: ignore[arg-type]
        responses = await asyncio.gather(
            delete_user(client, first, customer.id), delete_user(other, second, customer.id)
        )
    assert sorted(r.status_code for r in responses) == [200, 404]


@pytest.fixture
def failing_step() -> Iterator[None]:
    """A domain whose erasure fails after the others before it already ran."""

    async def explode(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
        raise RuntimeError("a domain failed halfway")

    personal_data.register("exploding", set(), explode, stage=personal_data.LAST - 1)
    yield
    personal_data._claims.pop("exploding:erase")


async def test_a_step_failing_halfway_leaves_everything_intact(
    client: httpx.AsyncClient, runtime: Runtime, failing_step: None
) -> None:
    admin_user, _ = await auth_headers(client, runtime, Role.ADMIN)
    customer, headers = await auth_headers(client, runtime, Role.CUSTOMER)

    with pytest.raises(RuntimeError, match="halfway"):
        async with runtime.unit_of_work() as uow:
            await deletion.delete_by_staff(uow, Actor(admin_user.id, admin_user.role), customer.id)

    assert await user_exists(runtime, customer.id)
    async with runtime.unit_of_work(readonly=True) as uow:
        sessions = await uow.session.scalar(
            select(func.count()).where(RefreshToken.user_id == customer.id)
        )
    assert sessions == 1
    assert (await client.get("/api/me", headers=headers)).status_code == 200


async def test_an_organizer_with_events_is_refused_until_they_are_gone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, admin = await auth_headers(client, runtime, Role.ADMIN)
    organizer, _ = await auth_headers(client, runtime, Role.ORGANIZER)
    await make_event(runtime, organizer)

    refused = await delete_user(client, admin, organizer.id)

    body = assert_envelope(refused, 409, "user_owns_organizer_data")
    assert body["details"]["domain"] == "events"
    assert await user_exists(runtime, organizer.id)
