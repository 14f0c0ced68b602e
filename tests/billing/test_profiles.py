"""Billing profiles: a user's own, one default, checked country and VAT id."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from admitone.billing.models import BillingProfile
from admitone.runtime import Runtime
from tests.billing.conftest import PROFILE, PROFILES, Shop, details, make_profile
from tests.support.envelope import assert_envelope


async def test_a_first_profile_is_the_default_and_its_vat_id_is_kept_compact(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    created = await make_profile(client, shop.buyer.headers)
    assert created["is_default"] is True
    assert created["vat_id"] == "DE123456789"
    assert created["country"] == "DE"

    listed = await client.get(PROFILES, headers=shop.buyer.headers)
    assert [p["id"] for p in listed.json()["data"]] == [created["id"]]
    read = await client.get(f"{PROFILES}/{created['id']}", headers=shop.buyer.headers)
    assert read.json() == created


async def test_making_another_profile_the_default_leaves_exactly_one(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    first = await make_profile(client, shop.buyer.headers)
    second = await make_profile(client, shop.buyer.headers, company=None, is_default=True)
    third = await make_profile(client, shop.buyer.headers, name="Someone", company=None)
    assert third["is_default"] is False

    profiles = (await client.get(PROFILES, headers=shop.buyer.headers)).json()["data"]
    assert {p["id"]: p["is_default"] for p in profiles} == {
        first["id"]: False,
        second["id"]: True,
        third["id"]: False,
    }
    back = await client.patch(
        f"{PROFILES}/{first['id']}", json={"is_default": True}, headers=shop.buyer.headers
    )
    assert back.json()["is_default"] is True
    profiles = (await client.get(PROFILES, headers=shop.buyer.headers)).json()["data"]
    assert [p["id"] for p in profiles if p["is_default"]] == [first["id"]]


async def test_the_database_refuses_a_second_default(runtime: Runtime, shop: Shop) -> None:
    now = runtime.clock.now()

    def profile() -> BillingProfile:
        fields = {k: v for k, v in PROFILE.items() if k != "vat_id"}
        return BillingProfile(
            user_id=shop.buyer.user.id, is_default=True, created_at=now, updated_at=now, **fields
        )

    with pytest.raises(IntegrityError):
        async with runtime.unit_of_work() as uow:
            uow.session.add_all([profile(), profile()])
            await uow.flush()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "Germany"}, "country"),
        ({"vat_id": "DE12345"}, "vat_id"),
        ({"vat_id": "ZZ123456789"}, "vat_id"),
        ({"vat_id": "FR123"}, "vat_id"),
        ({"name": None, "company": None}, "body"),
        ({"company": None, "name": ""}, "name"),
        ({"address_line1": "   "}, "address_line1"),
        ({"city": "Ber\x00lin"}, "city"),
    ],
)
async def test_malformed_details_are_refused_naming_the_field(
    client: httpx.AsyncClient, shop: Shop, fields: dict[str, Any], field: str
) -> None:
    response = await client.post(PROFILES, json=details(**fields), headers=shop.buyer.headers)
    body = assert_envelope(response, 422, "validation_error")
    # An optional field's error names the field, then the type it failed (name.constrained-str).
    assert body["details"]["field"].split(".")[0] == field
    listed = await client.get(PROFILES, headers=shop.buyer.headers)
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    "vat_id",
    ["FRXX123456789", "EL123456789", "CHE-123.456.789 MWST", "GB123456789", "NL123456789B01"],
)
async def test_well_formed_vat_ids_of_several_countries_are_accepted(
    client: httpx.AsyncClient, shop: Shop, vat_id: str
) -> None:
    await make_profile(client, shop.buyer.headers, vat_id=vat_id)


async def test_an_update_is_checked_whole_and_a_bad_one_changes_nothing(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    created = await make_profile(client, shop.buyer.headers)
    path = f"{PROFILES}/{created['id']}"
    bad = await client.patch(path, json={"vat_id": "DE1"}, headers=shop.buyer.headers)
    assert assert_envelope(bad, 422, "validation_error")["details"]["field"] == "vat_id"
    cleared = await client.patch(
        path, json={"name": None, "company": None}, headers=shop.buyer.headers
    )
    assert_envelope(cleared, 422, "validation_error")
    unchanged = await client.get(path, headers=shop.buyer.headers)
    assert unchanged.json() == created

    changed = await client.patch(
        path, json={"city": "Potsdam", "vat_id": None}, headers=shop.buyer.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["city"], changed.json()["vat_id"]) == ("Potsdam", None)


async def test_someone_elses_profile_is_not_found_and_staff_cannot_use_the_owners_path(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    created = await make_profile(client, shop.buyer.headers)
    path = f"{PROFILES}/{created['id']}"
    for signed in (shop.stranger, shop.admin):
        for response in (
            await client.get(path, headers=signed.headers),
            await client.patch(path, json={"city": "Bonn"}, headers=signed.headers),
            await client.delete(path, headers=signed.headers),
        ):
            assert_envelope(response, 404, "billing_profile_not_found")
        assert (await client.get(PROFILES, headers=signed.headers)).json()["data"] == []
    assert_envelope(await client.get(PROFILES), 401, "not_authenticated")
    missing = await client.get(f"{PROFILES}/{uuid.uuid4()}", headers=shop.buyer.headers)
    assert_envelope(missing, 404, "billing_profile_not_found")


async def test_a_deleted_profile_is_gone(client: httpx.AsyncClient, shop: Shop) -> None:
    created = await make_profile(client, shop.buyer.headers)
    path = f"{PROFILES}/{created['id']}"
    assert (await client.delete(path, headers=shop.buyer.headers)).status_code == 204
    assert_envelope(
        await client.get(path, headers=shop.buyer.headers), 404, "billing_profile_not_found"
    )


async def test_profile_changes_are_published_to_staff_and_the_owner_without_details(
    client: httpx.AsyncClient, shop: Shop, published: list[tuple[str, dict[str, Any]]]
) -> None:
    created = await make_profile(client, shop.buyer.headers)
    await client.patch(
        f"{PROFILES}/{created['id']}", json={"city": "Bonn"}, headers=shop.buyer.headers
    )
    mine = f"billing:profiles:user:{shop.buyer.id}"
    assert [m["type"] for t, m in published if t == mine] == ["profile_created", "profile_updated"]
    assert [m["type"] for t, m in published if t == "billing:profiles"] == [
        "profile_created",
        "profile_updated",
    ]
    for _, message in published:
        assert "Berlin" not in str(message) and "Bonn" not in str(message)
