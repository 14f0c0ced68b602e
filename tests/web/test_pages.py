"""The web pages through the ASGI client, on SQLite and PostgreSQL, with the injected clock:
sessions, CSRF, what the pages say and where errors go."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Response

import admitone.wiring  # noqa: F401 - the confirmation job's handler
from admitone.accounts.models import Role
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.notifications.senders import MemorySender
from admitone.runtime import Runtime
from admitone.web.sessions import CSRF_COOKIE, SESSION_COOKIE, Browser
from tests.conftest import PASSWORD, TEST_SECRET, create_user, make_client
from tests.web.conftest import WebEvent, make_event


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"email_backend": "memory"})


TIERS = [("General admission", "50.00", 100), ("VIP", "150.00", 2)]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def form_page(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def sign_in(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await form_page(client, "/login")
    return await client.post(
        "/login", data={"csrf_token": token, "email": email, "password": PASSWORD}
    )


async def buy(
    client: httpx.AsyncClient, event: WebEvent, quantities: list[int], **fields: str
) -> httpx.Response:
    token = await form_page(client, f"/events/{event.id}")
    data = {"csrf_token": token, "idempotency_key": uuid.uuid4().hex}
    data |= {f"tier-{tier}": str(n) for tier, n in zip(event.tier_ids, quantities, strict=True)}
    data |= fields or {"customer_name": "Ada Lovelace", "customer_email": "ada@example.com"}
    return await client.post(f"/events/{event.id}/purchase", data=data)


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error"[^>]*>([^<]*)<', html)
    assert found, f"no error next to {field}"
    return found.group(1)


async def test_home_lists_published_events_with_local_date_venue_and_from_price(
    client: httpx.AsyncClient, runtime: Runtime
):
    await make_event(
        runtime,
        tiers=[("Standing", "35.00", 10), ("Seated", "20.00", 10)],
        name="Jazz night",
        starts_at=datetime(2026, 7, 1, 18, 30, tzinfo=UTC),
        timezone="Europe/Paris",
    )

    page = await client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Jazz night" in page.text
    assert "Wednesday 1 July 2026, 20:30 (Europe/Paris)" in page.text
    assert "Town Hall" in page.text
    assert 'From <span class="num">20.00 USD</span>' in page.text


async def test_a_form_without_its_csrf_token_is_refused_with_a_readable_page(
    client: httpx.AsyncClient, runtime: Runtime, app: FastAPI
):
    event = await make_event(runtime, tiers=TIERS)
    await client.get(f"/events/{event.id}")  # the browser has its CSRF cookie
    form = {"customer_name": "Eve", "customer_email": "eve@example.com"}
    form[f"tier-{event.tier_ids[0]}"] = "1"

    missing = await client.post(f"/events/{event.id}/purchase", data=form)
    forged = await client.post(
        f"/events/{event.id}/purchase", data=form | {"csrf_token": "forged-token"}
    )
    # A token is only good with the cookie it was made for: another browser's does not work.
    async with make_client(app, ip="198.51.100.9") as other:
        borrowed = await other.post(
            f"/events/{event.id}/purchase",
            data=form | {"csrf_token": await form_page(client, f"/events/{event.id}")},
        )

    for refused in (missing, forged, borrowed):
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "was not sent from this site" in refused.text
    orders = await client.get(f"/api/events/{event.id}/availability")
    assert orders.json()["tiers"][0]["remaining"] == 100


async def test_session_cookie_is_httponly_and_lax_and_never_authenticates_the_api(
    client: httpx.AsyncClient, runtime: Runtime
):
    user = await create_user(runtime, Role.CUSTOMER, name="Katherine Johnson")

    signed_in = await sign_in(client, user.email)

    assert signed_in.status_code == 303
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # not in development: http://127.0.0.1 has no TLS
    assert "Signed in as Katherine Johnson" in (await client.get("/")).text
    # The browser sends the cookie to /api too; the API reads only bearer tokens.
    assert (await client.get("/api/me")).status_code == 401
    assert (await client.get("/api/orders")).status_code == 401


def test_cookies_are_secure_in_production():
    settings = Settings(
        env="production",
        secret_key=TEST_SECRET,
        payment_gateway="stripe",
        stripe_secret_key="sk_test_123",
        email_backend="smtp",
    )
    browser = Browser(settings, None, "", csrf_is_new=True)
    browser.sign_in("a-session-secret-of-enough-length")
    response = browser.apply(Response())

    cookies = response.headers.getlist("set-cookie")
    assert {c.split("=")[0] for c in cookies} == {SESSION_COOKIE, CSRF_COOKIE}
    assert all("Secure" in c and "HttpOnly" in c and "SameSite=lax" in c for c in cookies)


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(
    client: httpx.AsyncClient, runtime: Runtime, app: FastAPI
):
    user = await create_user(runtime, Role.CUSTOMER, name="Margaret Hamilton")
    await sign_in(client, user.email)
    copied = client.cookies[SESSION_COOKIE]

    token = csrf_of((await client.get("/")).text)
    signed_out = await client.post("/logout", data={"csrf_token": token})

    assert signed_out.status_code == 303
    assert "Signed in as" not in (await client.get("/")).text
    async with make_client(app, ip="198.51.100.10") as thief:
        thief.cookies.set(SESSION_COOKIE, copied)
        page = await thief.get("/")
    assert "Signed in as" not in page.text
    assert ">Sign in<" in page.text


async def test_wrong_password_is_shown_next_to_the_password_field(
    client: httpx.AsyncClient, runtime: Runtime
):
    user = await create_user(runtime, Role.CUSTOMER)
    token = await form_page(client, "/login")

    refused = await client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": "not-the-password"}
    )

    assert refused.status_code == 401
    assert field_error(refused.text, "password") == "The email or password is incorrect."
    assert 'aria-invalid="true" aria-describedby="password-error"' in refused.text
    assert f'value="{user.email}"' in refused.text  # what was typed stays, but not the password
    assert "not-the-password" not in refused.text


async def test_register_signs_in_and_a_weak_password_is_shown_next_to_the_field(
    client: httpx.AsyncClient,
):
    token = await form_page(client, "/register")
    form = {"csrf_token": token, "name": "Hedy Lamarr", "email": "hedy@example.com"}

    weak = await client.post("/register", data=form | {"password": "password123"})
    assert weak.status_code == 422
    assert "too common" in field_error(weak.text, "password")
    assert 'autocomplete="new-password"' in weak.text

    made = await client.post("/register", data=form | {"password": PASSWORD, "next": "/"})
    assert made.status_code == 303
    assert "Signed in as Hedy Lamarr" in (await client.get("/")).text


async def test_web_purchase_waits_for_the_buyer_to_pay_where_the_api_pays_with_the_default_card(
    client: httpx.AsyncClient, runtime: Runtime
):
    event = await make_event(runtime, tiers=TIERS)

    placed = await buy(client, event, [2, 1])

    assert placed.status_code == 303
    order_url = placed.headers["location"]
    assert re.fullmatch(r"/orders/[A-Z0-9]+\?token=[\w-]+", order_url)
    page = await client.get(order_url)
    assert "Your seats are held for" in page.text
    assert "Pay 250.00 USD" in page.text
    api = await client.post(
        f"/api/events/{event.id}/purchase",
        json={"order": {"customer_email": "b@example.com", "customer_name": "B", "quantity": 1}},
    )
    assert api.json()["status"] == "paid"


async def test_the_hold_is_shown_expired_once_the_servers_clock_passes_its_deadline(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
):
    event = await make_event(runtime, tiers=TIERS)
    order_url = (await buy(client, event, [1, 0])).headers["location"]

    running = await client.get(order_url)
    clock.advance(minutes=15)
    over = await client.get(order_url)

    assert 'data-seconds-left="900">15:00<' in running.text
    assert 'hx-trigger="load delay:900s"' in running.text
    assert "Your payment hold has expired" in over.text
    assert "Pay 50.00 USD" not in over.text
    fragment = await client.get(order_url.replace("?", "/payment?"))
    assert fragment.text.lstrip().startswith('<section id="payment"')
    assert "Your payment hold has expired" in fragment.text


async def test_purchase_refusals_are_shown_next_to_the_field_at_fault(
    client: httpx.AsyncClient, runtime: Runtime
):
    event = await make_event(runtime, tiers=TIERS)

    too_many = await buy(client, event, [0, 3])
    over_the_limit = await buy(client, event, [11, 0])
    nothing = await buy(client, event, [0, 0])
    no_name = await buy(client, event, [1, 0], customer_name="", customer_email="x@example.com")

    assert too_many.status_code == 409
    assert "left" in field_error(too_many.text, f"tier-{event.tier_ids[1]}")
    assert 'value="3"' in too_many.text  # the buyer's choice is kept
    assert over_the_limit.status_code == 422
    limit = field_error(over_the_limit.text, f"tier-{event.tier_ids[0]}")
    assert limit == "An order holds at most 10 tickets."
    assert nothing.status_code == 422
    assert field_error(nothing.text, "tickets") == "Choose at least one ticket."
    assert no_name.status_code == 422
    assert field_error(no_name.text, "customer_name") == "This field is required."
    assert 'value="x@example.com"' in no_name.text


async def test_a_signed_in_buyer_orders_without_guest_fields_and_finds_it_in_my_orders(
    client: httpx.AsyncClient, runtime: Runtime, app: FastAPI
):
    event = await make_event(runtime, tiers=TIERS)
    user = await create_user(runtime, Role.CUSTOMER, name="Grace Hopper")
    await sign_in(client, user.email)
    assert 'id="customer_email"' not in (await client.get(f"/events/{event.id}")).text

    placed = await buy(client, event, [1, 0], ignored="")

    order_url = placed.headers["location"]
    assert "token=" not in order_url
    mine = await client.get(order_url)
    assert mine.status_code == 200
    assert f"for Grace Hopper ({user.email})" in mine.text
    async with make_client(app, ip="198.51.100.11") as stranger:
        assert (await stranger.get(order_url)).status_code == 404
        assert (await stranger.get("/orders")).headers["location"] == "/login?next=/orders"
    listed = await client.get("/orders")
    assert f'<a href="{order_url}">' in listed.text
    assert "Pending" in listed.text


async def test_pages_answer_error_pages_and_the_api_keeps_its_json(client: httpx.AsyncClient):
    page = await client.get("/orders/NOSUCH12")
    api = await client.get("/api/orders/by-reference/NOSUCH12")
    malformed = await client.get("/events/not-an-id")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    assert api.json()["error"] == "order_not_found"
    assert malformed.status_code == 404
    assert malformed.headers["content-type"].startswith("text/html")


async def test_paying_on_the_order_page_shows_the_tickets_and_the_email_links_back_to_it(
    client: httpx.AsyncClient, runtime: Runtime
):
    event = await make_event(runtime, tiers=TIERS)
    order_url = (await buy(client, event, [1, 1])).headers["location"]
    pending = await client.get(order_url)
    token = re.search(r'name="token" value="([^"]+)"', pending.text)
    assert token

    paid = await client.post(
        order_url.split("?")[0] + "/pay",
        data={
            "csrf_token": csrf_of(pending.text),
            "token": token.group(1),
            "payment_method": "pm_card_visa",
        },
    )

    assert paid.status_code == 303
    assert paid.headers["location"] == order_url
    page = await client.get(order_url)
    assert page.text.count('alt="QR code of ticket') == 2
    await drain(runtime, queues=["emails"])  # the confirmation job sends the email
    assert isinstance(runtime.email_sender, MemorySender)
    [email] = runtime.email_sender.to("ada@example.com")
    text = email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert runtime.settings.public_url + order_url in text


async def test_bad_input_on_pages_answers_a_page_never_a_server_error(
    client: httpx.AsyncClient, runtime: Runtime
):
    event = await make_event(runtime, tiers=TIERS)
    token = await form_page(client, f"/events/{event.id}")
    quantity = f"tier-{event.tier_ids[0]}"

    answers = [
        await client.get("/orders/AB%00CD"),
        await client.get("/orders/ABCD", params={"token": "a\x00b"}),
        await client.get("/login", params={"next": "x" * 501}),
        await client.post(
            f"/events/{event.id}/purchase",
            data={"csrf_token": token, quantity: "²", "customer_name": "A", "customer_email": ""},
        ),
        await client.post(
            f"/events/{event.id}/purchase",
            data={
                "csrf_token": token,
                quantity: "1",
                "customer_name": "Nul\x00Byte",
                "customer_email": "a\x00@example.com",
                "idempotency_key": "k\x00" + "y" * 5000,
            },
        ),
        await client.post(
            "/login", data={"csrf_token": token, "email": "a\x00@x.com", "password": "p\x00"}
        ),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 422, 422, 422]
    assert all(a.headers["content-type"].startswith("text/html") for a in answers)


async def test_the_purchase_limit_answers_a_page_saying_when_to_retry(
    client: httpx.AsyncClient, runtime: Runtime
):
    event = await make_event(runtime, tiers=TIERS)
    strict = int(runtime.settings.rate_limit_strict.split("/")[0])

    answers = [
        await client.post(f"/events/{event.id}/purchase", data={}) for _ in range(strict + 1)
    ]

    assert {a.status_code for a in answers[:strict]} == {403}  # no CSRF token
    limited = answers[-1]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert "<h1>Too many requests</h1>" in limited.text
    assert int(limited.headers["retry-after"]) > 0
