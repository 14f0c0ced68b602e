from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from admitone.activity import service as activity_service
from admitone.activity.models import ActivityEntry
from admitone.runtime import Runtime


@pytest.fixture
def run_time_mode() -> Iterator[None]:
    """Production behaviour: unsafe metadata and bad names are dropped, not raised."""
    previous = activity_service.set_strict(False)
    yield
    activity_service.set_strict(previous)


async def entries(runtime: Runtime, action: str | None = None) -> list[ActivityEntry]:
    stmt = select(ActivityEntry).order_by(ActivityEntry.created_at, ActivityEntry.id)
    if action is not None:
        stmt = stmt.where(ActivityEntry.action == action)
    async with runtime.unit_of_work(readonly=True) as uow:
        return list((await uow.session.scalars(stmt)).all())


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def record_failures(reason: str) -> float:
    return metric("admitone_activity_record_failures_total", reason=reason)


def metadata_dropped() -> float:
    return metric("admitone_activity_metadata_dropped_total")
