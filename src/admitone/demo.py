"""Demo data for ``make run``: a first owner and organizer on an empty embedded database."""

from __future__ import annotations

from dataclasses import dataclass

from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role
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
            await accounts_service.create_user(
                uow,
                runtime.settings,
                email=account.email,
                name=f"Demo {account.role.value}",
                password=account.password,
                role=account.role,
            )
    return True
