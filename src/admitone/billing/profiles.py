"""Billing profiles (a user's own, read by them and staff) and organizers' billing settings.

Activity entries name the profile by id only: its content is personal data.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from admitone.activity import service as activity_service
from admitone.billing import repository, topics
from admitone.billing.errors import BillingProfileNotFound, DefaultProfileChanged, OrganizersOnly
from admitone.billing.models import BillingProfile, BillingSettings, InvoiceMode
from admitone.billing.schemas import ProfileCreate, ProfileUpdate, SettingsUpdate
from admitone.core.actor import Actor
from admitone.core.billing_details import BillingDetails
from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotAuthenticated
from admitone.core.ids import new_uuid

DEFAULT_INVOICE_PREFIX = "INV"
DEFAULT_CREDIT_NOTE_PREFIX = "CN"
_DETAIL_FIELDS = tuple(BillingDetails.model_fields)


def _user(actor: Actor) -> uuid.UUID:
    if actor.uuid is None:
        raise NotAuthenticated()
    return actor.uuid


async def list_profiles(uow: UnitOfWork, actor: Actor) -> list[BillingProfile]:
    return await repository.profiles_of(uow, _user(actor))


async def get_profile(uow: UnitOfWork, actor: Actor, profile_id: uuid.UUID) -> BillingProfile:
    profile = await repository.profile_of(uow, _user(actor), profile_id)
    if profile is None:
        raise BillingProfileNotFound()
    return profile


async def create_profile(uow: UnitOfWork, actor: Actor, data: ProfileCreate) -> BillingProfile:
    user_id = _user(actor)
    now = uow.clock.now()
    first = await repository.default_profile(uow, user_id) is None
    profile = BillingProfile(
        id=new_uuid(),
        user_id=user_id,
        **data.model_dump(include=set(_DETAIL_FIELDS)),
        is_default=False,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(profile)
    await uow.flush()
    if data.is_default or first:
        await _make_default(uow, profile)
    await _record(uow, "billing.profile_created", profile)
    topics.publish_profile(uow, profile, topics.PROFILE_CREATED)
    return profile


async def update_profile(
    uow: UnitOfWork, actor: Actor, profile_id: uuid.UUID, data: ProfileUpdate
) -> BillingProfile:
    profile = await get_profile(uow, actor, profile_id)
    sent = data.model_dump(exclude_unset=True)
    if data.is_default is False and profile.is_default:
        raise InvalidInput(
            "Make another profile the default instead; a user keeps one.", field="is_default"
        )
    current = {name: getattr(profile, name) for name in _DETAIL_FIELDS}
    merged = {**current, **{k: v for k, v in sent.items() if k in _DETAIL_FIELDS}}
    try:
        # A field cleared (None) is left out: the details never send null.
        checked = BillingDetails.model_validate({k: v for k, v in merged.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "name"
        raise InvalidInput(f"Invalid value for '{field}': {error['msg']}", field=field) from None
    for name, value in checked.model_dump().items():
        setattr(profile, name, value)
    profile.updated_at = uow.clock.now()
    await uow.flush()
    if data.is_default:
        await _make_default(uow, profile)
    await _record(uow, "billing.profile_updated", profile)
    topics.publish_profile(uow, profile, topics.PROFILE_UPDATED)
    return profile


async def delete_profile(uow: UnitOfWork, actor: Actor, profile_id: uuid.UUID) -> None:
    """Invoices already issued keep their copy of the details; a deleted default leaves the
    user without one until they choose another."""
    profile = await get_profile(uow, actor, profile_id)
    await uow.session.delete(profile)
    await uow.flush()
    await _record(uow, "billing.profile_deleted", profile)
    topics.publish_profile(uow, profile, topics.PROFILE_DELETED)


async def _make_default(uow: UnitOfWork, profile: BillingProfile) -> None:
    await repository.clear_default(uow, profile.user_id, keep=profile.id)
    profile.is_default = True
    try:
        # Two requests making two profiles the default at once: the partial unique index lets
        # one win; the other is told, and its transaction rolls back whole.
        async with uow.session.begin_nested():
            await uow.flush()
    except IntegrityError:
        raise DefaultProfileChanged() from None


async def _record(uow: UnitOfWork, action: str, profile: BillingProfile) -> None:
    await activity_service.record(
        uow,
        action,
        resource_type="billing_profile",
        resource_uuid=profile.id,
        target_uuid=profile.user_id,
        metadata={"status": "default" if profile.is_default else "other"},
    )


# Organizers' settings


def default_settings(organizer_id: uuid.UUID) -> BillingSettings:
    return BillingSettings(
        organizer_id=organizer_id,
        invoice_mode=InvoiceMode.ON_REQUEST.value,
        invoice_prefix=DEFAULT_INVOICE_PREFIX,
        credit_note_prefix=DEFAULT_CREDIT_NOTE_PREFIX,
    )


async def settings_for(uow: UnitOfWork, organizer_id: uuid.UUID) -> BillingSettings:
    """The organizer's settings, or the defaults (not stored) when they chose none."""
    return await repository.settings_of(uow, organizer_id) or default_settings(organizer_id)


def _organizer(actor: Actor) -> uuid.UUID:
    user_id = _user(actor)
    if actor.role != "organizer" and not actor.is_staff:
        raise OrganizersOnly()
    return user_id


async def get_settings(uow: UnitOfWork, actor: Actor) -> BillingSettings:
    return await settings_for(uow, _organizer(actor))


async def update_settings(uow: UnitOfWork, actor: Actor, data: SettingsUpdate) -> BillingSettings:
    """A prefix changes the numbers issued from now on; the sequence carries on, without a gap."""
    organizer_id = _organizer(actor)
    now = uow.clock.now()
    settings = await repository.settings_of(uow, organizer_id)
    if settings is None:
        settings = default_settings(organizer_id)
        settings.created_at = now
        uow.session.add(settings)
    for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(settings, name, value.value if isinstance(value, InvoiceMode) else value)
    settings.updated_at = now
    await uow.flush()
    await activity_service.record(
        uow,
        "billing.settings_updated",
        resource_type="billing_settings",
        resource_uuid=organizer_id,
        metadata={"status": settings.invoice_mode},
    )
    return settings
