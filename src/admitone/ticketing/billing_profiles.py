"""Whether a billing profile is the buyer's, for an invoice asked at checkout. Billing owns
profiles and registers its check here at import time (``admitone.wiring``): ticketing cannot
import billing, that would be a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from admitone.core.db import UnitOfWork
from admitone.ticketing.errors import BillingProfileNotFound

# ``check(uow, user_id, profile_id)``: whether the profile is the user's, in one query.
ProfileCheck = Callable[[UnitOfWork, uuid.UUID, uuid.UUID], Awaitable[bool]]
_checks: list[ProfileCheck] = []


def register_billing_profile_check(check: ProfileCheck) -> ProfileCheck:
    if check not in _checks:
        _checks.append(check)
    return check


async def require_billing_profile(
    uow: UnitOfWork, user_id: uuid.UUID | None, profile_id: uuid.UUID, *, field: str
) -> None:
    """Refused (404, naming ``field``) unless the profile is the signed-in buyer's: a guest has
    none, and without a check registered no profile is anyone's."""
    if user_id is not None:
        for check in _checks:
            if await check(uow, user_id, profile_id):
                return
    raise BillingProfileNotFound(field=field)
