"""Roles: who may list users and who may grant which role."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select, update

from admitone.accounts import service as accounts_service
from admitone.accounts.errors import LastOwner
from admitone.accounts.models import Role, User
from admitone.core.actor import Actor
from admitone.runtime import Runtime
from tests.conftest import auth_headers, create_user, login
from tests.support.envelope import assert_envelope


async def set_role(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: uuid.UUID, role: Role
) -> httpx.Response:
    return await client.put(
        f"/api/users/{user_id}/role", json={"role": role.value}, headers=headers
    )


async def test_register_creates_a_customer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "new@example.com", "name": "New", "password": "a long enough passphrase"},
    )
    assert response.status_code == 201
    assert response.json()["role"] == "customer"


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_staff_list_users_page_by_page(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    staff, headers = await auth_headers(client, runtime, role)
    created = {staff.id} | {(await create_user(runtime)).id for _ in range(4)}

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/users", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [u["id"] for u in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == {str(i) for i in created}


async def test_staff_filter_users_by_role(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    organizer = await create_user(runtime, Role.ORGANIZER)
    await create_user(runtime, Role.CUSTOMER)
    response = await client.get("/api/users", params={"role": "organizer"}, headers=headers)
    assert [u["id"] for u in response.json()["data"]] == [str(organizer.id)]


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor!"}, {"limit": 0}, {"limit": 201}])
async def test_bad_list_parameters_name_the_field(
    client: httpx.AsyncClient, runtime: Runtime, params: dict[str, str | int]
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    response = await client.get("/api/users", params=params, headers=headers)
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"].endswith(next(iter(params)))


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ORGANIZER])
async def test_customers_and_organizers_cannot_list_users(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    _, headers = await auth_headers(client, runtime, role)
    assert_envelope(await client.get("/api/users", headers=headers), 403, "forbidden")


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.ORGANIZER])
async def test_customers_and_organizers_cannot_change_roles(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    actor, headers = await auth_headers(client, runtime, role)
    response = await set_role(client, headers, actor.id, Role.OWNER)
    assert response.status_code == 403


@pytest.mark.parametrize("new_role", [Role.OWNER, Role.ADMIN])
async def test_owner_can_make_an_owner_or_admin(
    client: httpx.AsyncClient, runtime: Runtime, new_role: Role
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    target = await create_user(runtime, Role.CUSTOMER)
    response = await set_role(client, headers, target.id, new_role)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == new_role.value
    # The new role is what the database says, not what the old token said.
    tokens = await login(client, target.email)
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["role"] == new_role.value


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Role.CUSTOMER, Role.ADMIN),
        (Role.CUSTOMER, Role.OWNER),
        (Role.ADMIN, Role.CUSTOMER),
        (Role.OWNER, Role.ORGANIZER),
    ],
)
async def test_admin_cannot_make_or_unmake_owners_or_admins(
    client: httpx.AsyncClient, runtime: Runtime, before: Role, after: Role
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    target = await create_user(runtime, before)
    response = await set_role(client, headers, target.id, after)
    assert_envelope(response, 403, "insufficient_role")


async def test_admin_can_promote_itself_to_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin, headers = await auth_headers(client, runtime, Role.ADMIN)
    assert_envelope(await set_role(client, headers, admin.id, Role.OWNER), 403, "insufficient_role")


async def test_admin_switches_customer_and_organizer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ADMIN)
    target = await create_user(runtime, Role.CUSTOMER)
    up = await set_role(client, headers, target.id, Role.ORGANIZER)
    assert up.status_code == 200, up.text
    assert up.json()["role"] == "organizer"
    down = await set_role(client, headers, target.id, Role.CUSTOMER)
    assert down.json()["role"] == "customer"


async def test_the_last_owner_cannot_be_demoted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, headers = await auth_headers(client, runtime, Role.OWNER)
    assert_envelope(await set_role(client, headers, owner.id, Role.ADMIN), 409, "last_owner")
    me = await client.get("/api/me", headers=headers)
    assert me.json()["role"] == "owner"


async def test_an_owner_can_step_down_when_another_owner_remains(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, headers = await auth_headers(client, runtime, Role.OWNER)
    await create_user(runtime, Role.OWNER)
    response = await set_role(client, headers, owner.id, Role.ADMIN)
    assert response.status_code == 200, response.text


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first, first_headers = await auth_headers(client, runtime, Role.OWNER)
    second, second_headers = await auth_headers(client, runtime, Role.OWNER)
    responses = await asyncio.gather(
        set_role(client, first_headers, second.id, Role.CUSTOMER),
        set_role(client, second_headers, first.id, Role.CUSTOMER),
    )
    statuses = sorted(r.status_code for r in responses)
    # The loser is either refused as the last owner, or no longer an owner when it acts.
    assert statuses in ([200, 403], [200, 409]), [r.text for r in responses]
    owner_headers = first_headers if responses[0].status_code == 200 else second_headers
    owners = await client.get("/api/users", params={"role": "owner"}, headers=owner_headers)
    assert len(owners.json()["data"]) == 1


async def test_owners_demoting_each_other_concurrently_never_deadlock(runtime: Runtime) -> None:
    async def demote(actor: User, target: User) -> User:
        async with runtime.unit_of_work() as uow:
            return await accounts_service.change_role(
                uow, Actor(actor.id, Role.OWNER.value), target.id, Role.CUSTOMER
            )

    for _ in range(5):
        first, second = (
            await create_user(runtime, Role.OWNER),
            await create_user(runtime, Role.OWNER),
        )
        async with runtime.unit_of_work() as uow:  # the two are the only owners
            await uow.session.execute(
                update(User).where(User.id.not_in([first.id, second.id])).values(role="customer")
            )
        results = await asyncio.gather(
            demote(first, second), demote(second, first), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["LastOwner", "User"], results
        assert any(isinstance(r, LastOwner) for r in results)
        async with runtime.unit_of_work(readonly=True) as uow:
            owners = await uow.session.scalar(
                select(func.count()).select_from(User).where(User.role == Role.OWNER.value)
            )
        assert owners == 1


async def test_unknown_user_is_404(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    assert_envelope(await set_role(client, headers, uuid.uuid4(), Role.ADMIN), 404, "not_found")


async def test_unknown_role_names_the_field(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    target = await create_user(runtime)
    response = await client.put(
        f"/api/users/{target.id}/role", json={"role": "emperor"}, headers=headers
    )
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == "role"


async def test_malformed_user_id_names_the_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.OWNER)
    response = await client.put("/api/users/42/role", json={"role": "admin"}, headers=headers)
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == "path.user_id"
