"""Emails of the support desk, logged and enqueued in the business transaction. The requester
hears of staff replies and status changes, the assignee of an assignment. Internal notes are
never passed to any of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from admitone.accounts import service as accounts_service
from admitone.config import Settings
from admitone.core.db import UnitOfWork
from admitone.notifications import service as notifications_service
from admitone.support.models import SupportComment, SupportRequest
from admitone.ticketing import service as ticketing_service

REPLY_TEMPLATE = "support_reply"
STATUS_TEMPLATE = "support_status_changed"
ASSIGNED_TEMPLATE = "support_assigned"
RELATED_TYPE = "support_request"


@dataclass(frozen=True, slots=True)
class Contact:
    email: str
    name: str
    url: str


def _request_url(settings: Settings, request_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/api/support/requests/{request_id}"


async def requester_contact(
    uow: UnitOfWork, settings: Settings, request: SupportRequest
) -> Contact | None:
    url = _request_url(settings, request.id)
    if request.requester_id is not None:
        user = await accounts_service.get_user(uow, request.requester_id)
        return None if user is None else Contact(user.email, user.name, url)
    if request.guest and request.order_id is not None:
        order = await ticketing_service.order_for_viewer(
            uow, request.order_id, ticketing_service.Viewer(is_staff=True), tickets=False
        )
        # A guest has no account: the link carries the order's token, as the order email does.
        token = ticketing_service.order_access_token(settings, order.id)
        return Contact(order.customer_email, order.customer_name, f"{url}?token={token}")
    return None


async def _send(
    uow: UnitOfWork,
    to: Contact,
    template: str,
    request: SupportRequest,
    context: dict[str, object],
) -> None:
    await notifications_service.send_email(
        uow,
        to=to.email,
        template=template,
        context={"name": to.name, "subject": request.subject, "request_url": to.url, **context},
        related_type=RELATED_TYPE,
        related_id=request.id,
    )


async def reply(
    uow: UnitOfWork, settings: Settings, request: SupportRequest, comment: SupportComment
) -> None:
    if comment.internal:
        raise ValueError("an internal note is never emailed to the requester")
    contact = await requester_contact(uow, settings, request)
    if contact is not None:
        await _send(uow, contact, REPLY_TEMPLATE, request, {"reply": comment.body})


async def status_changed(
    uow: UnitOfWork, settings: Settings, request: SupportRequest, old_status: str
) -> None:
    contact = await requester_contact(uow, settings, request)
    if contact is not None:
        await _send(
            uow,
            contact,
            STATUS_TEMPLATE,
            request,
            {"old_status": _label(old_status), "new_status": _label(request.status)},
        )


async def assigned(uow: UnitOfWork, settings: Settings, request: SupportRequest) -> None:
    if request.assignee_id is None:
        return
    user = await accounts_service.get_user(uow, request.assignee_id)
    if user is not None:
        contact = Contact(user.email, user.name, _request_url(settings, request.id))
        await _send(uow, contact, ASSIGNED_TEMPLATE, request, {"priority": request.priority})


def _label(status: str) -> str:
    return status.replace("_", " ")
