"""Status, priority and assignee changes: the allowed moves, who may make them, the emails they
send, and two staff racing on one request."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.runtime import Runtime
from admitone.support import repository
from tests.support.users import sign_in
from tests.support_desk.conftest import REQUESTS, Desk, comment, emails_about, open_request, patch


async def move(client: httpx.AsyncClient, desk: Desk, request_id: str, *statuses: str) -> None:
    for status in statuses:
        response = await patch(client, request_id, desk.admin.headers, status=status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["closed"], "open"),
        (["resolved"], "waiting_on_customer"),
        (["resolved"], "in_progress"),
        (["in_progress", "closed"], "resolved"),
    ],
)
async def test_a_transition_that_is_not_allowed_is_409_with_the_current_status(
    client: httpx.AsyncClient, desk: Desk, path: list[str], refused: str
) -> None:
    created = await open_request(client, desk.customer.headers)
    await move(client, desk, created["id"], *path)
    response = await patch(client, created["id"], desk.admin.headers, status=refused)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] in ("support_transition_not_allowed", "support_request_closed")
    assert body["details"]["status"] == path[-1]
    read = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.admin.headers)
    assert read.json()["status"] == path[-1]


async def test_statuses_move_through_the_desk_and_a_closed_request_is_final(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    await move(client, desk, created["id"], "in_progress", "waiting_on_customer", "resolved")
    await move(client, desk, created["id"], "open", "closed")
    response = await patch(client, created["id"], desk.admin.headers, priority="high")
    assert response.status_code == 409
    assert response.json()["error"] == "support_request_closed"
    reply = await client.post(
        f"{REQUESTS}/{created['id']}/comments",
        json={"body": "Hello?"},
        headers=desk.customer.headers,
    )
    assert reply.status_code == 409
    assert reply.json()["error"] == "support_request_closed"


@pytest.mark.parametrize(
    ("before", "after"), [("resolved", "open"), ("waiting_on_customer", "in_progress")]
)
async def test_a_customer_reply_hands_the_request_back_to_the_desk(
    client: httpx.AsyncClient, desk: Desk, before: str, after: str
) -> None:
    created = await open_request(client, desk.customer.headers)
    await move(client, desk, created["id"], before)
    await comment(client, created["id"], desk.customer.headers, "Still broken.")
    read = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.customer.headers)
    assert read.json()["status"] == after


async def test_a_requester_may_not_change_their_request_and_a_stranger_does_not_find_it(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    mine = await patch(client, created["id"], desk.customer.headers, status="closed")
    assert mine.status_code == 403
    assert mine.json()["error"] == "support_staff_only"
    theirs = await patch(client, created["id"], desk.stranger.headers, status="closed")
    assert theirs.status_code == 404


@pytest.mark.parametrize("who", ["customer", "unknown", "other_organizer"])
async def test_an_assignee_who_is_not_staff_is_422_and_nothing_changes(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk, who: str
) -> None:
    created = await open_request(client, desk.customer.headers, order_id=desk.order["id"])
    assignee = {
        "customer": desk.customer.id,
        "unknown": str(uuid.uuid4()),
        "other_organizer": (await sign_in(client, runtime, Role.ORGANIZER)).id,
    }[who]
    response = await patch(client, created["id"], desk.admin.headers, assignee_id=assignee)
    assert response.status_code == 422
    assert response.json()["error"] == "support_assignee_not_staff"
    assert response.json()["details"]["field"] == "assignee_id"
    read = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.admin.headers)
    assert read.json()["assignee_id"] is None


async def test_the_events_organizer_handles_its_requests_and_may_be_assigned(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers, order_id=desk.order["id"])
    response = await patch(client, created["id"], desk.admin.headers, assignee_id=desk.organizer.id)
    assert response.status_code == 200
    by_organizer = await patch(client, created["id"], desk.organizer.headers, status="resolved")
    assert by_organizer.status_code == 200
    elsewhere = await open_request(client, desk.stranger.headers)
    assert (
        await patch(client, elsewhere["id"], desk.organizer.headers, status="closed")
    ).status_code == 404


async def test_patch_needs_something_to_change(client: httpx.AsyncClient, desk: Desk) -> None:
    created = await open_request(client, desk.customer.headers)
    response = await patch(client, created["id"], desk.admin.headers)
    assert response.status_code == 422
    assert response.json()["error"] == "support_nothing_to_change"


async def test_status_changes_email_the_requester_and_assignment_emails_the_assignee(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    colleague = await sign_in(client, runtime, Role.ADMIN)
    response = await patch(
        client,
        created["id"],
        desk.admin.headers,
        status="in_progress",
        assignee_id=colleague.id,
        priority="high",
    )
    assert response.status_code == 200
    sent = {(e.template, e.to_address) for e in await emails_about(runtime, created["id"])}
    assert sent == {
        ("support_status_changed", desk.customer.user.email),
        ("support_assigned", colleague.user.email),
    }


async def test_two_staff_assigning_at_once_one_wins_and_the_other_sees_the_current_assignee(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    """Both saw the request unassigned: whichever order the two requests run in, one assigns
    and the other is told who has it."""
    created = await open_request(client, desk.customer.headers)
    other = await sign_in(client, runtime, Role.ADMIN)
    results = await asyncio.gather(
        *(
            patch(
                client,
                created["id"],
                staff.headers,
                assignee_id=colleague.id,
                expected_assignee_id=None,
            )
            for staff, colleague in ((desk.admin, other), (other, desk.admin))
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()["assignee_id"]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["error"] == "support_request_changed"
    assert loser["details"]["assignee_id"] == winner
    # Only the winner's side effects: one assignment email, to the one assigned.
    assigned = [
        e for e in await emails_about(runtime, created["id"]) if e.template == "support_assigned"
    ]
    assert [e.to_address for e in assigned] == [
        u.user.email for u in (desk.admin, other) if u.id == winner
    ]


# SQLite runs one writer at a time, so its writers never overlap: this race is PostgreSQL's.
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_staff_racing_on_postgresql_connections_one_update_wins(
    client: httpx.AsyncClient,
    runtime: Runtime,
    desk: Desk,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No expectation from the clients: both transactions read the request unassigned, then
    both UPDATE it at once on their own connections. The second waits for the first's row lock,
    finds the assignee changed, and is answered with it."""
    created = await open_request(client, desk.customer.headers)
    other = await sign_in(client, runtime, Role.ADMIN)
    both_read = asyncio.Barrier(2)
    update_if = repository.update_if

    async def after_both_read(*args: Any, **kwargs: Any) -> bool:
        await asyncio.wait_for(both_read.wait(), 5)
        return await update_if(*args, **kwargs)

    monkeypatch.setattr(repository, "update_if", after_both_read)
    results = await asyncio.gather(
        *(
            patch(client, created["id"], staff.headers, assignee_id=staff.id)
            for staff in (desk.admin, other)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()["assignee_id"]
    assert (
        next(r for r in results if r.status_code == 409).json()["details"]["assignee_id"] == winner
    )
