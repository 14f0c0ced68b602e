"""Every table is claimed by the domain that deletes or anonymises its rows for a deleted user:
a new table holding personal data that no domain claims fails here."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Text, Uuid

import admitone.wiring  # noqa: F401 - every domain's claim
from admitone.core import personal_data
from admitone.models import metadata
from tests.support.personal_data import personal_columns, unclaimed


def test_every_table_of_the_schema_is_claimed_by_a_domain() -> None:
    assert unclaimed(metadata) == {}


def test_every_table_holding_personal_data_is_claimed() -> None:
    claimed = personal_data.claimed_tables()
    personal = {t.name for t in metadata.sorted_tables if personal_columns(t)}
    assert personal  # the walk sees the users' tables at all
    assert {"users", "orders", "billing_profiles", "email_log"} <= personal
    assert personal - claimed.keys() == set()


def test_claims_name_only_tables_that_exist() -> None:
    assert set(personal_data.claimed_tables()) - set(metadata.tables) == set()


def test_a_new_table_with_personal_data_that_nobody_claims_fails_the_walk() -> None:
    schema = MetaData()
    Table("users", schema, Column("id", Uuid, primary_key=True))
    Table(
        "newsletter_signups",
        schema,
        Column("id", Uuid, primary_key=True, default=uuid.uuid4),
        Column("user_id", Uuid, ForeignKey("users.id")),
        Column("contact_email", String(254)),
        Column("notes", Text),
    )
    assert unclaimed(schema) == {"newsletter_signups": ["user_id", "contact_email", "notes"]}
