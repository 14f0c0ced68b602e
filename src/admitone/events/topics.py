"""Pub/sub topics of events: live availability, public like the event page itself."""

from __future__ import annotations

import uuid

from admitone.core.db import UnitOfWork
from admitone.events.snapshots import Availability
from admitone.realtime import service as realtime_service
from admitone.realtime.topics import public, topic

AVAILABILITY = topic(
    "events:{event_id}:availability",
    public(),
    "Remaining tickets of one event and its tiers, after every reservation and release.",
)
AVAILABILITY_CHANGED = "availability_changed"
EVENT_DELETED = "event_deleted"


def publish_availability(uow: UnitOfWork, view: Availability) -> None:
    realtime_service.publish(
        uow, AVAILABILITY.name(event_id=view.event_id), AVAILABILITY_CHANGED, view.as_message()
    )


def publish_deleted(uow: UnitOfWork, event_id: uuid.UUID) -> None:
    realtime_service.publish(
        uow, AVAILABILITY.name(event_id=event_id), EVENT_DELETED, {"event_id": str(event_id)}
    )
