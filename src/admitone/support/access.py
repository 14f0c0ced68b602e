"""Who reaches a request: the requester, the people handling it, and a guest holding the token
of the request's order (the token emailed with the order opens its support requests too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from admitone.core.actor import Actor
from admitone.core.db import UnitOfWork
from admitone.core.errors import NotFound
from admitone.support import repository
from admitone.support.errors import NotHandler, SupportRequestNotFound
from admitone.support.models import SupportRequest
from admitone.ticketing import service as ticketing_service


@dataclass(frozen=True, slots=True)
class Viewer:
    actor: Actor
    order_token: str | None = None

    def order_viewer(self) -> ticketing_service.Viewer:
        """Whose orders a request may be about: the actor's own (staff included: a request is
        made for oneself), or, for a guest, the one order the token opens."""
        if self.actor.uuid is not None:
            return ticketing_service.Viewer(user_id=self.actor.uuid)
        return ticketing_service.Viewer(access_token=self.order_token)


async def reachable(uow: UnitOfWork, viewer: Viewer, request_id: uuid.UUID) -> SupportRequest:
    request = await repository.visible(uow, viewer.actor, request_id)
    if request is not None:
        return request
    if viewer.order_token:
        request = await repository.get(uow, request_id)
        if request is not None and request.guest and request.order_id is not None:
            token_viewer = ticketing_service.Viewer(access_token=viewer.order_token)
            try:
                await ticketing_service.order_for_viewer(
                    uow, request.order_id, token_viewer, tickets=False
                )
            except NotFound:
                pass
            else:
                return request
    raise SupportRequestNotFound()


async def handled(uow: UnitOfWork, actor: Actor, request_id: uuid.UUID) -> SupportRequest:
    """A request the actor handles; one they only see (their own) is a 403, others a 404."""
    request = await repository.visible(uow, actor, request_id)
    if request is None:
        raise SupportRequestNotFound()
    if not repository.handles(actor, request):
        raise NotHandler()
    return request
