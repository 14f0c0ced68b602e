from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from admitone.core.clock import FrozenClock
from admitone.events.models import Event
from admitone.runtime import Runtime
from tests.events.conftest import SEED_BODY, create_event, event_body, published_event
from tests.support.users import Signed


async def test_seed_curl_body_creates_a_draft_with_one_general_admission_tier(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    response = await client.post("/api/events", json=SEED_BODY, headers=organizer.headers)

    assert response.status_code == 201, response.text
    event = response.json()
    assert event["name"] == "Concert"
    assert event["venue"] == "Stadium"
    assert event["date"] == "2026-07-15T18:00:00Z"
    assert event["status"] == "draft"
    assert event["currency"] == "USD"
    assert event["timezone"] == "UTC"
    assert event["ticket_price"] == "50.00"
    assert event["total_tickets"] == 100
    assert event["available_tickets"] == 100
    assert event["organizer_id"] == str(organizer.user.id)
    [tier] = event["tiers"]
    assert tier["name"] == "General admission"
    assert tier["price"] == "50.00"
    assert (tier["capacity"], tier["remaining"]) == (100, 100)


async def test_an_event_can_be_created_with_several_tiers_and_an_event_wide_cap(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    body = {
        "event": {
            "name": "Festival",
            "venue": "Park",
            "date": "2026-08-01T12:00:00+02:00",
            "ends_at": "2026-08-02T02:00:00+02:00",
            "timezone": "Europe/Paris",
            "currency": "eur",
            "max_attendees": 150,
            "tiers": [
                {"name": "Early bird", "price": "19.99", "capacity": 100, "max_per_order": 4},
                {"name": "VIP", "price": 120, "capacity": 80},
            ],
        }
    }
    response = await client.post("/api/events", json=body, headers=organizer.headers)

    assert response.status_code == 201, response.text
    event = response.json()
    assert event["currency"] == "EUR"
    assert event["starts_at"] == "2026-08-01T10:00:00Z"
    assert [(t["name"], t["price"], t["position"]) for t in event["tiers"]] == [
        ("Early bird", "19.99", 0),
        ("VIP", "120.00", 1),
    ]
    assert event["total_tickets"] == 150  # 180 seats in tiers, capped at 150
    assert event["available_tickets"] == 150


async def test_customers_cannot_create_events_and_guests_must_sign_in(
    client: httpx.AsyncClient, customer: Signed
) -> None:
    forbidden = await client.post("/api/events", json=SEED_BODY, headers=customer.headers)
    assert forbidden.status_code == 403
    anonymous = await client.post("/api/events", json=SEED_BODY)
    assert anonymous.status_code == 401


async def test_staff_can_create_events(
    client: httpx.AsyncClient, admin: Signed, owner: Signed
) -> None:
    for who in (admin, owner):
        response = await client.post("/api/events", json=SEED_BODY, headers=who.headers)
        assert response.status_code == 201


async def _refusal(
    client: httpx.AsyncClient, who: Signed, body: dict[str, Any]
) -> tuple[int, str, str | None]:
    response = await client.post("/api/events", json=body, headers=who.headers)
    error = response.json()
    return response.status_code, error["error"], error["details"].get("field")


async def test_bad_input_is_refused_with_the_field_and_its_own_code(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    cases: list[tuple[dict[str, Any], tuple[int, str, str | None]]] = [
        (event_body(surprise=1), (422, "validation_error", "event.surprise")),
        ({**SEED_BODY, "extra": 1}, (422, "validation_error", "extra")),
        (event_body(name="x" * 201), (422, "validation_error", "event.name")),
        (event_body(name="   "), (422, "validation_error", "event.name")),
        (event_body(venue="v" * 201), (422, "validation_error", "event.venue")),
        (event_body(name="Jazz\x00Night"), (422, "validation_error", "event.name")),
        (event_body(description="Doors\x00open"), (422, "validation_error", "event.description")),
        (event_body(description="d" * 10_001), (422, "validation_error", "event.description")),
        (event_body(ticket_price="-1.00"), (422, "validation_error", "event.ticket_price")),
        (event_body(ticket_price="1.001"), (422, "validation_error", "event.ticket_price")),
        (event_body(ticket_price="abc"), (422, "validation_error", "event.ticket_price")),
        (event_body(total_tickets=-5), (422, "validation_error", "event.total_tickets")),
        (event_body(total_tickets=0), (422, "validation_error", "event.total_tickets")),
        (event_body(max_attendees=0), (422, "validation_error", "event.max_attendees")),
        (event_body(timezone="Mars/Olympus"), (422, "invalid_timezone", "event.timezone")),
        (event_body(timezone="../../etc/passwd"), (422, "invalid_timezone", "event.timezone")),
        (event_body(currency="US1"), (422, "invalid_currency", "event.currency")),
        (event_body(currency="DOLLARS"), (422, "validation_error", "event.currency")),
        (event_body(date="2026-07-15T18:00:00"), (422, "validation_error", "event.date")),
        (event_body(date="2026-05-01T18:00:00Z"), (422, "starts_in_past", "event.date")),
        (
            event_body(ends_at="2026-07-15T17:00:00Z"),
            (422, "ends_before_start", "event.ends_at"),
        ),
        (event_body(total_tickets=None), (422, "no_tiers", "event.total_tickets")),
        (event_body(ticket_price=None), (422, "no_tiers", "event.ticket_price")),
        (
            event_body(tiers=[{"name": "A", "price": "1.00", "capacity": 1}]),
            (422, "conflicting_tier_input", "event.tiers"),
        ),
        ({"name": "flat body"}, (422, "validation_error", "event")),
    ]
    for body, expected in cases:
        assert await _refusal(client, organizer, body) == expected, body

    malformed = await client.post(
        "/api/events",
        content=b'{"event": ',
        headers={**organizer.headers, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Event)) == 0


async def test_a_bad_second_tier_leaves_nothing_half_written(
    client: httpx.AsyncClient, organizer: Signed, runtime: Runtime
) -> None:
    body = {
        "event": {
            "name": "Half",
            "venue": "Nowhere",
            "date": "2026-07-15T18:00:00Z",
            "currency": "JPY",
            "tiers": [
                {"name": "Fine", "price": "1000", "capacity": 10},
                {"name": "Bad", "price": "10.50", "capacity": 10},
            ],
        }
    }
    response = await client.post("/api/events", json=body, headers=organizer.headers)

    assert response.status_code == 422
    assert response.json()["details"]["field"] == "event.tiers.1.price"
    async with runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Event)) == 0


async def test_drafts_are_visible_only_to_their_organizer_and_staff(
    client: httpx.AsyncClient,
    organizer: Signed,
    other_organizer: Signed,
    customer: Signed,
    admin: Signed,
) -> None:
    draft = await create_event(client, organizer)
    url = f"/api/events/{draft['id']}"

    assert (await client.get(url, headers=organizer.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    for headers in (other_organizer.headers, customer.headers, {}):
        hidden = await client.get(url, headers=headers)
        assert hidden.status_code == 404
        assert hidden.json()["error"] == "event_not_found"


async def test_anyone_reads_a_published_event_without_signing_in(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    event = await published_event(client, organizer)
    response = await client.get(f"/api/events/{event['id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert response.json()["on_sale"] is True


async def test_the_public_list_shows_published_events_and_organizers_list_their_drafts(
    client: httpx.AsyncClient,
    organizer: Signed,
    other_organizer: Signed,
    admin: Signed,
    clock: FrozenClock,
) -> None:
    published = []
    for i in range(3):
        published.append(await published_event(client, organizer, name=f"Show {i}"))
        clock.advance(seconds=1)
    mine = await create_event(client, organizer, name="My draft")
    theirs = await create_event(client, other_organizer, name="Their draft")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/events", params=params)).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in reversed(published)]

    own = await client.get("/api/events", params={"mine": "true"}, headers=organizer.headers)
    assert {e["id"] for e in own.json()["data"]} == {mine["id"], *(e["id"] for e in published)}
    drafts = await client.get("/api/events", params={"status": "draft"}, headers=organizer.headers)
    assert [e["id"] for e in drafts.json()["data"]] == [mine["id"]]
    anonymous_drafts = await client.get("/api/events", params={"status": "draft"})
    assert anonymous_drafts.json()["data"] == []
    staff_drafts = await client.get(
        "/api/events", params={"status": "draft"}, headers=admin.headers
    )
    assert {e["id"] for e in staff_drafts.json()["data"]} == {mine["id"], theirs["id"]}
    bad = await client.get("/api/events", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


async def test_the_organizer_updates_an_event_and_others_get_404(
    client: httpx.AsyncClient, organizer: Signed, other_organizer: Signed, admin: Signed
) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}"

    response = await client.put(
        url,
        json={"event": {"name": "Concert II", "ticket_price": "55.50", "total_tickets": 120}},
        headers=organizer.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Concert II"
    assert updated["venue"] == "Stadium"
    assert updated["ticket_price"] == "55.50"
    assert updated["available_tickets"] == 120

    foreign = await client.put(
        url, json={"event": {"name": "Mine now"}}, headers=other_organizer.headers
    )
    assert foreign.status_code == 404
    by_staff = await client.put(url, json={"event": {"venue": "Arena"}}, headers=admin.headers)
    assert by_staff.status_code == 200
    assert by_staff.json()["venue"] == "Arena"


async def test_update_refuses_bad_values_and_explicit_nulls(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}"
    cases = [
        ({"name": None}, "validation_error", "event.name"),
        ({"status": "published"}, "validation_error", "event.status"),
        ({"timezone": "Nowhere/Else"}, "invalid_timezone", "event.timezone"),
        ({"ends_at": "2026-07-01T00:00:00Z"}, "ends_before_start", "event.ends_at"),
        ({"date": "2026-01-01T00:00:00Z"}, "starts_in_past", "event.date"),
    ]
    for change, code, field in cases:
        response = await client.put(url, json={"event": change}, headers=organizer.headers)
        assert response.status_code == 422, change
        assert (response.json()["error"], response.json()["details"]["field"]) == (code, field)
    unchanged = (await client.get(url, headers=organizer.headers)).json()
    assert unchanged["name"] == "Concert"


async def test_currency_changes_only_while_draft_and_keeps_prices(
    client: httpx.AsyncClient, organizer: Signed
) -> None:
    event = await create_event(client, organizer, ticket_price="50.00")
    url = f"/api/events/{event['id']}"

    in_yen = await client.put(url, json={"event": {"currency": "JPY"}}, headers=organizer.headers)
    assert in_yen.status_code == 200
    assert (in_yen.json()["currency"], in_yen.json()["ticket_price"]) == ("JPY", "50")

    await client.post(f"{url}/publish", headers=organizer.headers)
    locked = await client.put(url, json={"event": {"currency": "EUR"}}, headers=organizer.headers)
    assert locked.status_code == 409
    assert locked.json()["error"] == "currency_locked"


async def test_publish_is_for_the_organizer_and_is_idempotent(
    client: httpx.AsyncClient, organizer: Signed, other_organizer: Signed
) -> None:
    event = await create_event(client, organizer)
    url = f"/api/events/{event['id']}/publish"

    assert (await client.post(url, headers=other_organizer.headers)).status_code == 404
    first = await client.post(url, headers=organizer.headers)
    assert first.status_code == 200
    assert first.json()["status"] == "published"
    assert first.json()["published_at"] == "2026-06-01T12:00:00Z"
    again = await client.post(url, headers=organizer.headers)
    assert again.status_code == 200
    assert again.json()["published_at"] == first.json()["published_at"]


async def test_the_openapi_document_declares_the_event_routes_and_their_errors(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert {"400", "401", "404"} <= set(paths["/api/events/{event_id}"]["delete"]["responses"])
    assert "409" in paths["/api/events/{event_id}/tiers/{tier_id}"]["put"]["responses"]
    assert "get" in paths["/api/events/{event_id}/has-existing-orders"]
