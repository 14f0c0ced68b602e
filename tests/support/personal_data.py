"""The schema walk behind the personal data tests: which tables hold data about a person, and
which of them no domain claims."""

from __future__ import annotations

import re

from sqlalchemy import JSON, MetaData, Table, Text

from admitone.core import personal_data

# Column names that say "about a person": contact details, names, free text they wrote.
_PERSONAL_NAME = re.compile(
    r"(email|e_mail|name|address|phone|body|note|comment|subject|description|reason|message)"
)


def personal_columns(table: Table) -> list[str]:
    """The columns of ``table`` that reference a user or may hold a person's data."""
    found = []
    for column in table.columns:
        references_user = any(fk.target_fullname in ("users.id",) for fk in column.foreign_keys)
        if (
            references_user
            or _PERSONAL_NAME.search(column.name)
            or isinstance(column.type, Text | JSON)
        ):
            found.append(column.name)
    return found


def unclaimed(metadata: MetaData) -> dict[str, list[str]]:
    """Every table no domain claims, with its personal columns (empty when it has none)."""
    claimed = personal_data.claimed_tables()
    return {
        table.name: personal_columns(table)
        for table in metadata.sorted_tables
        if table.name not in claimed
    }
