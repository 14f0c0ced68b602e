"""Opening support requests, reading and listing them: who sees what."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from admitone.support.models import SupportComment, SupportRequest
from tests.support.users import sign_in
from tests.support_desk.conftest import REQUESTS, Desk, buy, comment, emails_about, open_request
from tests.ticketing.conftest import make_event


async def count_rows(runtime: Runtime) -> tuple[int, int]:
    async with runtime.unit_of_work(readonly=True) as uow:
        requests = await uow.session.scalar(select(func.count()).select_from(SupportRequest))
        comments = await uow.session.scalar(select(func.count()).select_from(SupportComment))
    return int(requests or 0), int(comments or 0)


async def test_a_customer_opens_a_request_about_their_order_and_reads_it_back(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(
        client, desk.customer.headers, order_id=desk.order["id"], category="order"
    )
    assert created["status"] == "open"
    assert created["priority"] == "normal"
    assert created["requester_id"] == desk.customer.id
    assert created["event_id"] == str(desk.event.id)
    assert created["guest"] is False

    response = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.customer.headers)
    assert response.status_code == 200
    assert response.json()["subject"] == "Where are my tickets?"
    assert response.json()["comments"] == []


@pytest.mark.parametrize("by", ["order_id", "order_reference"])
async def test_a_request_about_someone_elses_order_is_404_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk, by: str
) -> None:
    value = desk.order["id"] if by == "order_id" else desk.order["reference"]
    response = await client.post(
        REQUESTS,
        json={"subject": "Refund", "body": "Please.", by: value},
        headers=desk.stranger.headers,
    )
    assert response.status_code == 404
    assert response.json()["error"] == "order_not_found"
    assert await count_rows(runtime) == (0, 0)


async def test_a_guest_opens_a_request_with_the_order_token_and_follows_it_up_with_it(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, desk: Desk
) -> None:
    guest_order = await buy(client, desk.event.id)
    token = guest_order["access_token"]
    response = await client.post(
        REQUESTS,
        params={"token": token},
        json={
            "subject": "Name change",
            "body": "Wrong name.",
            "order_reference": guest_order["reference"],
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["guest"] is True
    assert created["requester_id"] is None
    url = f"{REQUESTS}/{created['id']}"

    await comment(client, created["id"], desk.admin.headers, "Fixed it.")
    clock.advance(minutes=1)
    reply = await client.post(f"{url}/comments", params={"token": token}, json={"body": "Thanks!"})
    assert reply.status_code == 201
    assert reply.json()["from_staff"] is False
    read = await client.get(url, params={"token": token})
    assert read.status_code == 200
    assert [c["body"] for c in read.json()["comments"]] == ["Fixed it.", "Thanks!"]

    # The desk's reply reached the guest at the order's address, with a link that opens it.
    [email] = await emails_about(runtime, created["id"])
    assert (email.template, email.to_address) == ("support_reply", "john@example.com")
    assert email.payload is not None
    assert email.payload.context["request_url"].endswith(f"{created['id']}?token={token}")

    # Another order's token, or none, opens nothing.
    other = await buy(client, desk.event.id)
    assert (await client.get(url, params={"token": other["access_token"]})).status_code == 404
    assert (await client.get(url)).status_code == 404


async def test_a_guest_needs_an_order_and_its_token(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    guest_order = await buy(client, desk.event.id)
    no_token = await client.post(
        REQUESTS,
        json={"subject": "Hi", "body": "Hello", "order_reference": guest_order["reference"]},
    )
    assert no_token.status_code == 422
    assert no_token.json()["error"] == "support_order_required"
    wrong_token = await client.post(
        REQUESTS,
        params={"token": "not-the-token"},
        json={"subject": "Hi", "body": "Hello", "order_reference": guest_order["reference"]},
    )
    assert wrong_token.status_code == 404
    assert await count_rows(runtime) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", ""),
        ("body", "   "),
        ("body", "x" * 10_001),
        ("body", "a\x00b"),
        ("subject", ""),
        ("subject", "x" * 201),
        ("subject", "two\nlines"),
    ],
)
async def test_an_empty_oversized_or_nul_request_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk, field: str, value: str
) -> None:
    body = {"subject": "Hello", "body": "Help", field: value}
    response = await client.post(REQUESTS, json=body, headers=desk.customer.headers)
    assert response.status_code == 422
    assert response.json()["details"]["field"] == field
    assert await count_rows(runtime) == (0, 0)


@pytest.mark.parametrize("value", ["", "  ", "x" * 10_001, "a\x00b"])
async def test_an_empty_oversized_or_nul_comment_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk, value: str
) -> None:
    created = await open_request(client, desk.customer.headers)
    response = await client.post(
        f"{REQUESTS}/{created['id']}/comments", json={"body": value}, headers=desk.admin.headers
    )
    assert response.status_code == 422
    assert response.json()["details"]["field"] == "body"
    assert await count_rows(runtime) == (1, 0)


async def test_customers_see_their_own_organizers_their_events_and_staff_everything(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    about_event = await open_request(
        client, desk.customer.headers, order_id=desk.order["id"], subject="About the concert"
    )
    general = await open_request(client, desk.stranger.headers, subject="My account")
    other_organizer = await sign_in(client, runtime, Role.ORGANIZER)

    async def listed(headers: dict[str, str]) -> set[str]:
        response = await client.get(REQUESTS, headers=headers)
        assert response.status_code == 200
        return {r["id"] for r in response.json()["data"]}

    assert await listed(desk.customer.headers) == {about_event["id"]}
    assert await listed(desk.stranger.headers) == {general["id"]}
    assert await listed(desk.organizer.headers) == {about_event["id"]}
    assert await listed(other_organizer.headers) == set()
    assert await listed(desk.admin.headers) == {about_event["id"], general["id"]}

    for outsider in (desk.stranger, other_organizer):
        response = await client.get(f"{REQUESTS}/{about_event['id']}", headers=outsider.headers)
        assert response.status_code == 404
        assert response.json()["error"] == "support_request_not_found"
    assert (
        await client.get(f"{REQUESTS}/{about_event['id']}", headers=desk.organizer.headers)
    ).status_code == 200


async def test_lists_filter_by_status_priority_assignee_requester_and_text_page_by_cursor(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    first = await open_request(client, desk.customer.headers, subject="Refund 100% please")
    second = await open_request(client, desk.customer.headers, subject="Seat change")
    third = await open_request(client, desk.stranger.headers, body="The gate was closed")
    admin = desk.admin.headers
    await client.patch(
        f"{REQUESTS}/{second['id']}",
        json={"status": "in_progress", "priority": "urgent", "assignee_id": desk.admin.id},
        headers=admin,
    )

    async def ids(**params: str) -> list[str]:
        response = await client.get(REQUESTS, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert await ids(status="in_progress") == [second["id"]]
    assert await ids(priority="urgent") == [second["id"]]
    assert await ids(assignee_id=desk.admin.id) == [second["id"]]
    assert set(await ids(requester_id=desk.customer.id)) == {first["id"], second["id"]}
    assert await ids(q="100%") == [first["id"]]
    assert await ids(q="GATE") == [third["id"]]
    assert await ids(q="_") == []

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(REQUESTS, params=params, headers=admin)).json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([first["id"], second["id"], third["id"]])
    assert len(seen) == 3


@pytest.mark.parametrize(
    "params",
    [{"q": "a\x00b"}, {"q": "x" * 201}, {"cursor": "forged"}, {"status": "lost"}, {"limit": "0"}],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, desk: Desk, params: dict[str, str]
) -> None:
    response = await client.get(REQUESTS, params=params, headers=desk.admin.headers)
    assert response.status_code == 422


async def test_a_request_about_an_event_names_an_event_the_user_can_see(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    created = await open_request(client, desk.stranger.headers, event_id=str(desk.event.id))
    assert created["event_id"] == str(desk.event.id)
    # The organizer handles it, though it is about no order.
    organizer_view = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.organizer.headers)
    assert organizer_view.status_code == 200
    draft = (await make_event(runtime, desk.organizer.user, publish=False)).id
    response = await client.post(
        REQUESTS,
        json={"subject": "Hi", "body": "Hello", "event_id": str(draft)},
        headers=desk.stranger.headers,
    )
    assert response.status_code == 404
    assert response.json()["error"] == "event_not_found"
