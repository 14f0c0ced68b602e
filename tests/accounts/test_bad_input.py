"""Bad input on the auth endpoints: a clear 4xx in the envelope, the field at fault, nothing
half-written."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from admitone.accounts import service as accounts_service
from admitone.runtime import Runtime
from tests.conftest import PASSWORD, create_user, make_client
from tests.support.envelope import assert_envelope


async def user_count(runtime: Runtime) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await accounts_service.count_users(uow)


def register_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": "ada@example.com", "name": "Ada", "password": PASSWORD}
    body.update(overrides)
    return body


async def test_malformed_json_is_a_400_in_the_envelope(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await client.post(
        "/api/auth/register",
        content=b'{"email": "ada@example.com", "name": ',
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(response, 400, "malformed_json")
    assert await user_count(runtime) == 0


# One database per backend for all cases: the cases differ only in the body.
INVALID_REGISTRATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("email of the wrong type", {"email": 42}, "email"),
    ("name of the wrong type", {"name": ["Ada"]}, "name"),
    ("password of the wrong type", {"password": 1234567890}, "password"),
    ("invalid email", {"email": "not-an-email"}, "email"),
    ("email over 254 characters", {"email": "a" * 250 + "@example.com"}, "email"),
    ("name over 200 characters", {"name": "n" * 201}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("name with a NUL byte", {"name": "Ada\x00"}, "name"),
    ("name with a control character", {"name": "Ada\nLovelace"}, "name"),
    ("password over 128 characters", {"password": "p" * 129}, "password"),
    ("unknown field", {"role": "owner"}, "role"),
]


async def test_invalid_registration_names_the_field_and_writes_nothing(
    app: FastAPI, runtime: Runtime
) -> None:
    for n, (case, overrides, field) in enumerate(INVALID_REGISTRATIONS):
        # A client of its own per case: registration is under the strict rate limit.
        async with make_client(app, ip=f"203.0.113.{n + 10}") as client:
            response = await client.post("/api/auth/register", json=register_body(**overrides))
        body = assert_envelope(response, 422, "validation_error")
        assert body["details"]["field"] == field, case
        assert field in body["message"], case
    assert await user_count(runtime) == 0


async def test_missing_body_is_a_422_on_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/login")
    body = assert_envelope(response, 422, "validation_error")
    assert body["details"]["field"] == "body"


async def test_unknown_fields_are_refused_on_auth_bodies(client: httpx.AsyncClient) -> None:
    for path, body in [
        ("/api/auth/login", {"email": "ada@example.com", "password": PASSWORD}),
        ("/api/auth/refresh", {"refresh_token": "x" * 20}),
        ("/api/auth/logout", {"refresh_token": "x" * 20}),
    ]:
        response = await client.post(path, json={**body, "admin": True})
        envelope = assert_envelope(response, 422, "validation_error")
        assert envelope["details"]["field"] == "admin", path


async def test_email_in_use_is_taken_whatever_its_case(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = await client.post("/api/auth/register", json=register_body(email="A@x.com"))
    assert first.status_code == 201, first.text
    again = await client.post("/api/auth/register", json=register_body(email="a@X.com"))
    body = assert_envelope(again, 409, "email_taken")
    assert body["details"]["field"] == "email"
    assert await user_count(runtime) == 1


async def test_weak_password_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    for password in ["short", "password123", "aaaaaaaaaaaa", "ada@example.com", "ADA@example.com"]:
        response = await client.post("/api/auth/register", json=register_body(password=password))
        body = assert_envelope(response, 422, "weak_password")
        assert body["details"]["field"] == "password", password
    assert await user_count(runtime) == 0


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    wrong = await client.post(
        "/api/auth/login", json={"email": user.email, "password": "not the password at all"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    assert_envelope(wrong, 401, "invalid_credentials")
    assert_envelope(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


async def test_login_accepts_the_email_in_any_case(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await create_user(runtime, email="Grace@Example.com")
    response = await client.post(
        "/api/auth/login", json={"email": "GRACE@example.COM", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == str(user.id)


async def test_an_error_echoes_no_input(client: httpx.AsyncClient) -> None:
    secret = "my-secret-password-" + "x" * 120
    response = await client.post("/api/auth/register", json=register_body(password=secret))
    assert response.status_code == 422
    assert secret not in response.text
