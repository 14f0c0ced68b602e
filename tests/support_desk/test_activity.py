"""The support desk's activity entries name what happened, never what was written."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime
from tests.support_desk.conftest import REQUESTS, Desk, comment, open_request

SECRET_SUBJECT = "My card 4242 4242 4242 4242 was charged twice"
SECRET_BODY = "Call me on +44 20 7946 0000, ada@example.com"


async def test_support_activity_is_recorded_without_subjects_bodies_or_addresses(
    client: httpx.AsyncClient, runtime: Runtime, desk: Desk
) -> None:
    created = await open_request(
        client,
        desk.customer.headers,
        subject=SECRET_SUBJECT,
        body=SECRET_BODY,
        order_id=desk.order["id"],
    )
    await comment(client, created["id"], desk.admin.headers, SECRET_BODY)
    await comment(client, created["id"], desk.admin.headers, SECRET_BODY, internal=True)
    response = await client.patch(
        f"{REQUESTS}/{created['id']}",
        json={"status": "in_progress", "priority": "urgent", "assignee_id": desk.admin.id},
        headers=desk.admin.headers,
    )
    assert response.status_code == 200

    async with runtime.unit_of_work(readonly=True) as uow:
        entries = list(
            await uow.session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.action.like("support.%"))
                .order_by(ActivityEntry.action)
            )
        )
    assert sorted(e.action for e in entries) == [
        "support.comment_created",
        "support.internal_note_created",
        "support.request_assigned",
        "support.request_created",
        "support.request_priority_changed",
        "support.request_status_changed",
    ]
    created_entry = next(e for e in entries if e.action == "support.request_created")
    assert created_entry.actor_uuid == desk.customer.user.id
    assert created_entry.meta["order_uuid"] == desk.order["id"]
    assigned = next(e for e in entries if e.action == "support.request_assigned")
    assert assigned.meta == {"assignee_uuid": desk.admin.id}
    dumped = json.dumps([e.meta for e in entries])
    for text in (SECRET_SUBJECT, SECRET_BODY, "4242", "ada@example.com", desk.customer.user.email):
        assert text not in dumped
