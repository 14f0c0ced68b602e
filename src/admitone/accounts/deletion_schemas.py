from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from admitone.accounts.schemas import Password
from admitone.core.bodies import StrictBody
from admitone.core.personal_data import Erasure


class AccountDeletion(StrictBody):
    """Deleting one's own account takes the password again: a stolen access token alone cannot."""

    password: Password


class DeletionOut(BaseModel):
    """What the deletion did, as counts per kind of row, and what cannot be undone."""

    user_id: uuid.UUID
    deleted: dict[str, int] = Field(description="Rows deleted with the account, per kind.")
    anonymised: dict[str, int] = Field(description="Rows kept naming no one, per kind.")
    kept: dict[str, int] = Field(
        description="Rows kept as they are (invoices for tax law, the activity log), per kind."
    )
    irreversible: list[str] = Field(
        description="What cannot be undone: the account itself, and what the outside world was "
        "told (a subscription cancelled at the payment provider)."
    )

    @classmethod
    def of(cls, user_id: uuid.UUID, erasure: Erasure) -> DeletionOut:
        return cls(
            user_id=user_id,
            deleted=erasure.deleted,
            anonymised=erasure.anonymised,
            kept=erasure.kept,
            irreversible=["account_deleted", *sorted(set(erasure.irreversible))],
        )
