"""Who is a member of which plan, for the purchase's membership check. Billing owns plans and
subscriptions and registers its lookup here at import time (``admitone.wiring``): ticketing
cannot import billing, that would be a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection

from admitone.core.db import UnitOfWork

# ``lookup(uow, user_id, plan_ids)``: those of ``plan_ids`` the user is a member of, in one
# query.
MembershipLookup = Callable[
    [UnitOfWork, uuid.UUID, Collection[uuid.UUID]], Awaitable[frozenset[uuid.UUID]]
]
_lookups: list[MembershipLookup] = []


def register_membership_lookup(lookup: MembershipLookup) -> MembershipLookup:
    if lookup not in _lookups:
        _lookups.append(lookup)
    return lookup


async def member_plans(
    uow: UnitOfWork, user_id: uuid.UUID, plan_ids: Collection[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Without a lookup registered nobody is a member: a members-only tier stays closed."""
    found: frozenset[uuid.UUID] = frozenset()
    for lookup in _lookups:
        found |= await lookup(uow, user_id, plan_ids)
    return found
