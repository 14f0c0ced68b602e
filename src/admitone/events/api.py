"""The events API: thin handlers over ``admitone.events.service``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, status

from admitone.accounts.models import Role, User
from admitone.core.actor import current_actor
from admitone.events import service
from admitone.events.models import EventStatus
from admitone.events.schemas import (
    AvailabilityOut,
    EventCreateRequest,
    EventOut,
    EventPage,
    EventUpdateRequest,
    HasExistingOrdersOut,
    TierCreateRequest,
    TierList,
    TierOut,
    TierUpdateRequest,
)
from admitone.http.deps import CurrentUser, Uow, public, require_roles
from admitone.http.params import Cursor, PageLimit
from admitone.http.responses import errors
from admitone.http.routing import api_router

router = api_router(tags=["events"])

EventCreator = Annotated[User, Depends(require_roles(Role.ORGANIZER, Role.OWNER, Role.ADMIN))]


def _event_out(detail: service.EventDetail, uow: Uow) -> EventOut:
    return EventOut.build(detail.event, detail.tiers, uow.clock.now())


@router.get("/events", responses=errors(401, 422))
@public
async def list_events(
    uow: Uow,
    status_: Annotated[EventStatus | None, Query(alias="status")] = None,
    mine: bool = False,
    limit: PageLimit = None,
    cursor: Cursor = None,
) -> EventPage:
    """Published events by default; ``mine=true`` lists your own in any status."""
    actor = current_actor()
    if mine and actor.uuid is None:
        return EventPage(data=[], next_cursor=None)
    page = await service.list_events(
        uow, actor, status=status_, mine=mine, limit=limit, cursor=cursor
    )
    return EventPage(data=[_event_out(d, uow) for d in page.items], next_cursor=page.next_cursor)


@router.post("/events", status_code=status.HTTP_201_CREATED, responses=errors(400, 401, 403, 422))
async def create_event(body: EventCreateRequest, _: EventCreator, uow: Uow) -> EventOut:
    detail = await service.create_event(uow, current_actor(), body.event)
    return _event_out(detail, uow)


@router.get("/events/{event_id}", responses=errors(401, 404))
@public
async def get_event(event_id: uuid.UUID, uow: Uow) -> EventOut:
    return _event_out(await service.get_event(uow, current_actor(), event_id), uow)


@router.put("/events/{event_id}", responses=errors(400, 401, 404, 409, 422))
async def update_event(
    event_id: uuid.UUID, body: EventUpdateRequest, _: CurrentUser, uow: Uow
) -> EventOut:
    detail = await service.update_event(uow, current_actor(), event_id, body.event)
    return _event_out(detail, uow)


@router.delete("/events/{event_id}", responses=errors(400, 401, 404))
async def delete_event(event_id: uuid.UUID, _: CurrentUser, uow: Uow) -> str:
    """Only the organizer (and the platform owner) may delete; anyone else gets 404.
    An event with paid orders answers 400 ``event_has_orders``."""
    await service.delete_event(uow, current_actor(), event_id)
    return "ok"


@router.get("/events/{event_id}/has-existing-orders", responses=errors(401, 404))
async def has_existing_orders(
    event_id: uuid.UUID, _: CurrentUser, uow: Uow
) -> HasExistingOrdersOut:
    found = await service.has_existing_orders(uow, current_actor(), event_id)
    return HasExistingOrdersOut(has_existing_orders=found)


@router.post("/events/{event_id}/publish", responses=errors(401, 404, 409, 422))
async def publish_event(event_id: uuid.UUID, _: CurrentUser, uow: Uow) -> EventOut:
    return _event_out(await service.publish_event(uow, current_actor(), event_id), uow)


@router.get("/events/{event_id}/availability", responses=errors(401, 404))
@public
async def get_availability(event_id: uuid.UUID, uow: Uow) -> AvailabilityOut:
    view = await service.get_availability(uow, current_actor(), event_id)
    return AvailabilityOut.build(view)


@router.get("/events/{event_id}/tiers", responses=errors(401, 404))
@public
async def list_tiers(event_id: uuid.UUID, uow: Uow) -> TierList:
    event, tiers = await service.list_tiers(uow, current_actor(), event_id)
    snapshot = service.EventDetail(event, tiers).snapshot()
    now = uow.clock.now()
    return TierList(data=[TierOut.build(snapshot, t, now) for t in snapshot.tiers])


async def _tier_out(uow: Uow, event_id: uuid.UUID, tier_id: uuid.UUID) -> TierOut:
    snapshot = await service.get_event_snapshot(uow, event_id)
    tier = snapshot.tier(tier_id)
    assert tier is not None
    return TierOut.build(snapshot, tier, uow.clock.now())


@router.post(
    "/events/{event_id}/tiers",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 404, 409, 422),
)
async def create_tier(
    event_id: uuid.UUID, body: TierCreateRequest, _: CurrentUser, uow: Uow
) -> TierOut:
    created = await service.create_tier(uow, current_actor(), event_id, body.tier)
    return await _tier_out(uow, event_id, created[1].id)


@router.put("/events/{event_id}/tiers/{tier_id}", responses=errors(400, 401, 404, 409, 422))
async def update_tier(
    event_id: uuid.UUID, tier_id: uuid.UUID, body: TierUpdateRequest, _: CurrentUser, uow: Uow
) -> TierOut:
    await service.update_tier(uow, current_actor(), event_id, tier_id, body.tier)
    return await _tier_out(uow, event_id, tier_id)


@router.delete(
    "/events/{event_id}/tiers/{tier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 404, 409),
)
async def delete_tier(event_id: uuid.UUID, tier_id: uuid.UUID, _: CurrentUser, uow: Uow) -> None:
    await service.delete_tier(uow, current_actor(), event_id, tier_id)
