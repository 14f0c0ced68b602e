"""The email log keeps what was sent and when, not to whom: the recipient of the account's
emails is removed, and the content of those not yet delivered (their context, attachments) is
deleted, so nothing more is sent to a deleted account."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register
from admitone.notifications.models import EmailAttachment, EmailLog, EmailPayload, EmailStatus

REMOVED_RECIPIENT = "deleted-user@invalid.invalid"


async def erase_recipient(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    theirs = select(EmailLog.id).where(func.lower(EmailLog.to_address) == subject.email.lower())
    payloads = await uow.session.execute(
        delete(EmailPayload).where(EmailPayload.email_id.in_(theirs.scalar_subquery()))
    )
    await uow.session.execute(
        delete(EmailAttachment).where(EmailAttachment.email_id.in_(theirs.scalar_subquery()))
    )
    await uow.session.execute(
        update(EmailLog)
        .where(EmailLog.id.in_(theirs.scalar_subquery()), EmailLog.status == EmailStatus.QUEUED)
        .values(status=EmailStatus.FAILED.value, last_error="recipient_deleted")
        .execution_options(synchronize_session=False)
    )
    logged = await uow.session.execute(
        update(EmailLog)
        .where(func.lower(EmailLog.to_address) == subject.email.lower())
        .values(to_address=REMOVED_RECIPIENT, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.deleted, "email_contents", payloads.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.anonymised, "email_log", logged.rowcount)  # type: ignore[attr-defined]


register("notifications", {"email_log", "email_payloads", "email_attachments"}, erase_recipient)
