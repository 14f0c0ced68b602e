"""An internal note is for the people handling a request: never in the requester's API
answers, on a topic the requester may stream, in an email, or in an export."""

from __future__ import annotations

import json
import uuid

import httpx

from admitone.runtime import Runtime
from admitone.support import service
from tests.support.sse import open_stream
from tests.support_desk.conftest import REQUESTS, Desk, buy, comment, emails_about, open_request

NOTE = "Internal: this customer already had two refunds."
REPLY = "Your tickets are on their way."


async def test_an_internal_note_is_absent_from_the_requesters_api_answers(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers, order_id=desk.order["id"])
    url = f"{REQUESTS}/{created['id']}"
    await comment(client, created["id"], desk.admin.headers, REPLY)
    await comment(client, created["id"], desk.admin.headers, NOTE, internal=True)

    as_requester = await client.get(url, headers=desk.customer.headers)
    assert [c["body"] for c in as_requester.json()["comments"]] == [REPLY]
    assert NOTE not in as_requester.text
    for handler in (desk.admin, desk.organizer):
        seen = await client.get(url, headers=handler.headers)
        assert {c["body"] for c in seen.json()["comments"]} == {REPLY, NOTE}


async def test_a_guest_reading_with_the_order_token_never_sees_an_internal_note(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    guest_order = await buy(client, desk.event.id)
    token = {"token": guest_order["access_token"]}
    response = await client.post(
        REQUESTS,
        params=token,
        json={"subject": "Hi", "body": "Help", "order_reference": guest_order["reference"]},
    )
    request_id = response.json()["id"]
    await comment(client, request_id, desk.admin.headers, NOTE, internal=True)
    read = await client.get(f"{REQUESTS}/{request_id}", params=token)
    assert read.status_code == 200
    assert read.json()["comments"] == []


async def test_a_requester_may_not_write_an_internal_note(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    response = await client.post(
        f"{REQUESTS}/{created['id']}/comments",
        json={"body": "Let me in", "internal": True},
        headers=desk.customer.headers,
    )
    assert response.status_code == 403
    assert response.json()["details"]["field"] == "internal"
    read = await client.get(f"{REQUESTS}/{created['id']}", headers=desk.admin.headers)
    assert read.json()["comments"] == []


async def test_an_internal_note_is_in_no_email(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers, order_id=desk.order["id"])
    await comment(client, created["id"], desk.admin.headers, NOTE, internal=True)
    await comment(client, created["id"], desk.admin.headers, REPLY)
    changed = await client.patch(
        f"{REQUESTS}/{created['id']}",
        json={"status": "resolved", "assignee_id": str(desk.organizer.user.id)},
        headers=desk.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    emails = await emails_about(runtime, created["id"])
    assert {e.template for e in emails} == {
        "support_reply",
        "support_status_changed",
        "support_assigned",
    }
    to_requester = [e for e in emails if e.to_address == desk.customer.user.email]
    assert sorted(e.template for e in to_requester) == ["support_reply", "support_status_changed"]
    reply = next(e for e in to_requester if e.template == "support_reply")
    assert reply.payload is not None and reply.payload.context["reply"] == REPLY
    for email in emails:
        assert email.payload is not None
        assert NOTE not in json.dumps(email.payload.context)


async def test_the_export_holds_requests_and_replies_but_no_internal_note(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    await open_request(client, desk.stranger.headers, subject="Not theirs")
    await comment(client, created["id"], desk.admin.headers, REPLY)
    await comment(client, created["id"], desk.admin.headers, NOTE, internal=True)
    async with runtime.unit_of_work(readonly=True) as uow:
        exported = await service.export_user_data(uow, desk.customer.user.id)
    [request] = exported["support_requests"]
    assert request["id"] == created["id"]
    assert request["subject"] == "Where are my tickets?"
    assert [c["body"] for c in request["comments"]] == [REPLY]
    assert NOTE not in json.dumps(exported)


async def test_only_the_staff_stream_receives_the_internal_note(
    client: httpx.AsyncClient, streamer: httpx.AsyncClient, desk: Desk
) -> None:
    created = await open_request(client, desk.customer.headers)
    requester_topics = f"tickets:user:{desk.customer.id},tickets:{created['id']}"
    async with (
        open_stream(streamer, requester_topics, desk.customer.headers) as requester,
        open_stream(streamer, "tickets:all", desk.admin.headers) as staff,
    ):
        reply = await comment(client, created["id"], desk.admin.headers, REPLY)
        note = await comment(client, created["id"], desk.admin.headers, NOTE, internal=True)
        # A later reply marks the end: whatever the requester was sent in between is before it.
        marker = await comment(client, created["id"], desk.admin.headers, "One more thing.")

        staff_seen = [(await staff.next_event()).json() for _ in range(3)]
        assert [(m["type"], m["payload"]["comment_id"]) for m in staff_seen] == [
            ("comment_created", reply["id"]),
            ("internal_note_created", note["id"]),
            ("comment_created", marker["id"]),
        ]
        # Once per topic the requester streams: their own, and the request's.
        requester_seen = [(await requester.next_event()).json() for _ in range(4)]
        assert sorted((m["type"], m["payload"]["comment_id"]) for m in requester_seen) == sorted(
            [("comment_created", reply["id"])] * 2 + [("comment_created", marker["id"])] * 2
        )
        assert all(NOTE not in json.dumps(m) for m in staff_seen + requester_seen)


async def test_who_may_stream_the_support_topics(client: httpx.AsyncClient, desk: Desk) -> None:
    created = await open_request(client, desk.customer.headers, order_id=desk.order["id"])

    async def stream_status(topic: str, headers: dict[str, str]) -> int:
        async with client.stream(
            "GET", "/api/stream", params={"topics": topic}, headers=headers
        ) as response:
            return response.status_code

    request_topic = f"tickets:{created['id']}"
    customer_topic = f"tickets:user:{desk.customer.id}"
    forbidden = [
        ("tickets:all", desk.customer.headers),
        ("tickets:all", desk.organizer.headers),
        (request_topic, desk.stranger.headers),
        (customer_topic, desk.stranger.headers),
        (f"tickets:{uuid.uuid4()}", desk.customer.headers),
        (request_topic, {}),
    ]
    for topic, headers in forbidden:
        assert await stream_status(topic, headers) == 403, topic
    response = await client.get(
        "/api/stream", params={"topics": "tickets:all"}, headers=desk.customer.headers
    )
    assert response.json()["error"] == "topic_forbidden"
