"""The email log keeps what was sent and when, not to whom: the recipient of the account's sent
emails is removed (their content went once delivered), and the emails not delivered are deleted
with their content, so nothing more is sent to a deleted account."""

from __future__ import annotations

from sqlalchemy import delete, func, update

from admitone.core.db import UnitOfWork
from admitone.core.personal_data import Erasure, Subject, register
from admitone.notifications.models import EmailLog, EmailStatus

REMOVED_RECIPIENT = "deleted-user@invalid.invalid"


async def erase_recipient(uow: UnitOfWork, subject: Subject, erasure: Erasure) -> None:
    theirs = func.lower(EmailLog.to_address) == subject.email.lower()
    # Never delivered (queued, or failed for good): the row goes with its content, so neither
    # its job nor an operator's re-run sends anything; the job finds no email and stops.
    unsent = await uow.session.execute(
        delete(EmailLog)
        .where(theirs, EmailLog.status != EmailStatus.SENT.value)
        .execution_options(synchronize_session=False)
    )
    logged = await uow.session.execute(
        update(EmailLog)
        .where(theirs)
        .values(to_address=REMOVED_RECIPIENT, updated_at=uow.clock.now())
        .execution_options(synchronize_session=False)
    )
    erasure.count(erasure.deleted, "unsent_emails", unsent.rowcount)  # type: ignore[attr-defined]
    erasure.count(erasure.anonymised, "email_log", logged.rowcount)  # type: ignore[attr-defined]


register("notifications", {"email_log", "email_payloads", "email_attachments"}, erase_recipient)
