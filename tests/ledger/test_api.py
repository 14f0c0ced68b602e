"""Who sees the books: an event's ledger for its organizer and staff, the trial balance for
staff only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from admitone.accounts.models import Role
from admitone.ledger.service import Movement
from admitone.runtime import Runtime
from tests.conftest import auth_headers
from tests.events.conftest import SEED_BODY as EVENT
from tests.ledger.conftest import Sale, record


async def _event_with_sales(
    client: httpx.AsyncClient, runtime: Runtime
) -> tuple[uuid.UUID, dict[str, str]]:
    organizer, headers = await auth_headers(client, runtime, Role.ORGANIZER)
    response = await client.post("/api/events", json=EVENT, headers=headers)
    assert response.status_code == 201, response.text
    event_id = uuid.UUID(response.json()["id"])
    sale = Sale(organizer.id, event_id)
    await record(runtime, Movement.PAYMENT_CAPTURED, sale, 5000, "pi_1")
    await record(runtime, Movement.PROCESSING_FEE, sale, 175, "txn_1")
    await record(runtime, Movement.PAYMENT_CAPTURED, sale.another_order(), 5000, "pi_2")
    await record(runtime, Movement.REFUND, sale, 5000, "re_1")
    await record(runtime, Movement.LATE_PAYMENT, sale.another_order(), 5000, "pi_3")
    return event_id, headers


async def test_the_organizer_sees_the_events_result_as_decimal_strings(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    event_id, headers = await _event_with_sales(client, runtime)
    response = await client.get(f"/api/events/{event_id}/ledger", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "event_id": str(event_id),
        "currencies": [
            {
                "currency": "USD",
                "revenue": "100.00",
                "fees": "1.75",
                "refunds": "50.00",
                "net": "48.25",
                "refund_liability": "50.00",
                "tax_payable": "0.00",
            }
        ],
    }


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
async def test_staff_see_any_events_ledger(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    event_id, _ = await _event_with_sales(client, runtime)
    _, staff = await auth_headers(client, runtime, role)
    response = await client.get(f"/api/events/{event_id}/ledger", headers=staff)
    assert response.status_code == 200
    assert response.json()["currencies"][0]["net"] == "48.25"


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.CUSTOMER])
async def test_anyone_else_is_told_the_event_does_not_exist(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    event_id, _ = await _event_with_sales(client, runtime)
    _, stranger = await auth_headers(client, runtime, role)

    foreign = await client.get(f"/api/events/{event_id}/ledger", headers=stranger)
    missing = await client.get(f"/api/events/{uuid.uuid4()}/ledger", headers=stranger)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == missing.json()["error"] == "event_not_found"


async def test_an_event_without_sales_has_an_empty_ledger(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, headers = await auth_headers(client, runtime, Role.ORGANIZER)
    created = await client.post("/api/events", json=EVENT, headers=headers)
    response = await client.get(f"/api/events/{created.json()['id']}/ledger", headers=headers)
    assert response.status_code == 200
    assert response.json()["currencies"] == []


async def test_the_ledger_needs_a_signed_in_user(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    event_id, _ = await _event_with_sales(client, runtime)
    assert (await client.get(f"/api/events/{event_id}/ledger")).status_code == 401
    assert (await client.get("/api/admin/ledger/trial-balance")).status_code == 401


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
async def test_staff_read_the_trial_balance(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    await _event_with_sales(client, runtime)
    _, staff = await auth_headers(client, runtime, role)
    response = await client.get("/api/admin/ledger/trial-balance", headers=staff)

    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["balanced"] is True
    assert body["totals"] == [{"currency": "USD", "debits": "201.75", "credits": "201.75"}]
    gateway = next(a for a in body["accounts"] if a["account"] == "gateway_balance")
    assert (gateway["account_type"], gateway["event_id"]) == ("asset", None)
    assert (gateway["debits"], gateway["credits"], gateway["balance"]) == (
        "150.00",
        "51.75",
        "98.25",
    )


async def test_the_trial_balance_filters_by_organizer_and_currency(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await _event_with_sales(client, runtime)
    _, staff = await auth_headers(client, runtime, Role.ADMIN)
    other = Sale(currency="EUR")
    await record(runtime, Movement.PAYMENT_CAPTURED, other, 1234, "pi_eur")

    response = await client.get(
        "/api/admin/ledger/trial-balance",
        params={"organizer_id": str(other.organizer_id), "currency": "eur"},
        headers=staff,
    )
    assert response.status_code == 200
    assert response.json()["totals"] == [{"currency": "EUR", "debits": "12.34", "credits": "12.34"}]
    bad = await client.get(
        "/api/admin/ledger/trial-balance", params={"currency": "EURO"}, headers=staff
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.CUSTOMER])
async def test_only_staff_read_the_trial_balance(
    client: httpx.AsyncClient, runtime: Runtime, role: Role
) -> None:
    _, headers = await auth_headers(client, runtime, role)
    response = await client.get("/api/admin/ledger/trial-balance", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_the_ledger_endpoints_are_documented_with_their_errors(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert set(paths["/api/events/{event_id}/ledger"]["get"]["responses"]) >= {"200", "401", "404"}
    assert set(paths["/api/admin/ledger/trial-balance"]["get"]["responses"]) >= {
        "200",
        "401",
        "403",
    }
