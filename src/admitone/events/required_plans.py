"""The plans a tier requires: billing owns the plans and registers the check of them here at
import time (``admitone.wiring``); events cannot import billing, that would be a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from admitone.core.db import UnitOfWork
from admitone.events.errors import PlanNotFound
from admitone.events.models import Event, Tier

# ``check(uow, organizer_id, currency, plan_ids, field)``: raises ``PlanNotFound`` or
# ``PlanCurrencyMismatch`` naming ``{field}.{index}`` of the first plan at fault.
PlanCheck = Callable[[UnitOfWork, uuid.UUID, str, Sequence[uuid.UUID], str], Awaitable[None]]
_plan_checks: list[PlanCheck] = []


def register_plan_check(check: PlanCheck) -> PlanCheck:
    if check not in _plan_checks:
        _plan_checks.append(check)
    return check


def distinct(plan_ids: Sequence[uuid.UUID]) -> list[str]:
    """As stored on the tier: strings, each once, in the order given."""
    return list(dict.fromkeys(str(plan_id) for plan_id in plan_ids))


async def check_tier_plans(uow: UnitOfWork, event: Event, tier: Tier, field: str) -> None:
    """Every plan ``tier`` requires is a live plan of the event's organizer in its currency."""
    plan_ids = [uuid.UUID(plan_id) for plan_id in tier.required_plan_ids or ()]
    if not plan_ids:
        return
    if not _plan_checks:
        # Without billing there are no plans to require.
        raise PlanNotFound(field=f"{field}.required_plan_ids.0")
    for check in _plan_checks:
        await check(uow, event.organizer_id, event.currency, plan_ids, f"{field}.required_plan_ids")
