"""An organizer's events are the business's catalogue, not personal data to anonymise: an
account that still organizes events cannot be deleted until they are removed or handed over."""

from __future__ import annotations

from sqlalchemy import exists, select

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, UserOwnsOrganizerData, register
from admitone.events.models import Event


async def refuse_while_organizing(uow: UnitOfWork, subject: Subject, _: Erasure) -> None:
    if await uow.session.scalar(select(exists().where(Event.organizer_id == subject.user_id))):
        raise UserOwnsOrganizerData(details={"domain": "events"})


register("events", {"events", "tiers"}, refuse_while_organizing)
