"""Demo data for ``make run``: a first owner and organizer on an empty embedded database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role
from admitone.core.actor import Actor, acting_as
from admitone.core.db import UnitOfWork
from admitone.events import service as events_service
from admitone.events.schemas import EventCreate, TierCreate
from admitone.runtime import Runtime


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: Role
    email: str
    password: str


# Printed on the console by `make run`; they only exist on a development database.
DEMO_ACCOUNTS = (
    DemoAccount(Role.OWNER, "owner@admitone.test", "demo-owner-password"),
    DemoAccount(Role.ORGANIZER, "organizer@admitone.test", "demo-organizer-password"),
)


async def seed_if_empty(runtime: Runtime) -> bool:
    """Create the demo accounts when the database has no users; True when it did."""
    async with runtime.unit_of_work() as uow:
        if await accounts_service.count_users(uow) > 0:
            return False
        for account in DEMO_ACCOUNTS:
            user = await accounts_service.create_user(
                uow,
                runtime.settings,
                email=account.email,
                name=f"Demo {account.role.value}",
                password=account.password,
                role=account.role,
            )
            if account.role == Role.ORGANIZER:
                await _seed_event(uow, Actor(user.id, user.role))
    return True


async def _seed_event(uow: UnitOfWork, organizer: Actor) -> None:
    """One published event of the demo organizer, on sale for some weeks."""
    with acting_as(organizer):
        detail = await events_service.create_event(
            uow,
            organizer,
            EventCreate(
                name="admitone demo night",
                venue="The Demo Hall",
                date=uow.clock.now().replace(hour=19, minute=0, second=0, microsecond=0)
                + timedelta(weeks=6),
                description="A demo event: buy a ticket to see the whole flow.",
                tiers=[
                    TierCreate(name="General admission", price="50.00", capacity=200),
                    TierCreate(name="VIP", price="150.00", capacity=20, max_per_order=4),
                ],
            ),
        )
        await events_service.publish_event(uow, organizer, detail.event.id)
