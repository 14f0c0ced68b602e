from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from admitone.notifications import service as notifications_service
from admitone.notifications.messages import AttachmentLike
from admitone.notifications.models import EmailAttachment, EmailLog, EmailPayload
from admitone.runtime import Runtime

WELCOME = {"name": "Ada", "sign_in_url": "https://admitone.test/login"}


async def queue_welcome(
    runtime: Runtime, to: str = "ada@example.com", attachments: Sequence[AttachmentLike] = ()
) -> uuid.UUID:
    async with runtime.unit_of_work() as uow:
        log = await notifications_service.send_email(
            uow, to=to, template="welcome", context=WELCOME, attachments=attachments
        )
    return log.id


async def email_log(runtime: Runtime, email_id: uuid.UUID) -> EmailLog:
    async with runtime.unit_of_work(readonly=True) as uow:
        return await notifications_service.get_email(uow, email_id)


async def stored_content_rows(runtime: Runtime, email_id: uuid.UUID) -> int:
    async with runtime.unit_of_work(readonly=True) as uow:
        payloads = await uow.session.scalar(
            select(func.count()).where(EmailPayload.email_id == email_id)
        )
        files = await uow.session.scalar(
            select(func.count()).where(EmailAttachment.email_id == email_id)
        )
    return (payloads or 0) + (files or 0)
