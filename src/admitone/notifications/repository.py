"""Queries of the email log."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from admitone.notifications.models import EmailAttachment, EmailLog, EmailPayload


async def get(session: AsyncSession, email_id: uuid.UUID) -> EmailLog | None:
    return await session.get(EmailLog, email_id)


async def get_with_content(session: AsyncSession, email_id: uuid.UUID) -> EmailLog | None:
    result = await session.execute(
        select(EmailLog)
        .where(EmailLog.id == email_id)
        .options(selectinload(EmailLog.payload), selectinload(EmailLog.attachments))
    )
    return result.scalar_one_or_none()


async def for_resource(
    session: AsyncSession, related_type: str, related_id: uuid.UUID
) -> list[EmailLog]:
    result = await session.execute(
        select(EmailLog)
        .where(EmailLog.related_type == related_type, EmailLog.related_id == related_id)
        .order_by(EmailLog.created_at, EmailLog.id)
    )
    return list(result.scalars())


async def delete_content(session: AsyncSession, email_id: uuid.UUID) -> None:
    await session.execute(delete(EmailAttachment).where(EmailAttachment.email_id == email_id))
    await session.execute(delete(EmailPayload).where(EmailPayload.email_id == email_id))
