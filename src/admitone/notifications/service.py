"""Email use cases. Other domains call ``send_email`` inside their business transaction: the log
row and the send job commit or vanish with the order (or whatever caused the email)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email

from admitone.core.db import UnitOfWork
from admitone.core.errors import InvalidInput, NotFound
from admitone.core.ids import new_uuid
from admitone.jobs import service as jobs_service
from admitone.notifications import repository
from admitone.notifications.messages import Attachment, AttachmentLike, render_email
from admitone.notifications.models import EmailAttachment, EmailLog, EmailPayload, EmailStatus

SEND_EMAIL_JOB = "notifications.send_email"  # its queue and retry policy: notifications.jobs
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class OutgoingEmail:
    """What the send job needs, read in one short transaction and used after it ends."""

    id: uuid.UUID
    to: str
    template: str
    status: EmailStatus
    context: dict[str, Any]
    attachments: tuple[Attachment, ...]


async def send_email(
    uow: UnitOfWork,
    *,
    to: str,
    template: str,
    context: Mapping[str, Any],
    attachments: Sequence[AttachmentLike] = (),
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
) -> EmailLog:
    """Log an email and enqueue its delivery in the caller's transaction.

    The context must be JSON data (UUIDs, datetimes and Decimals are turned into strings): it
    is stored until the message is delivered and rendered again by the send job.
    """
    address = _valid_address(to)
    stored_context = _json_context(context)
    files = [Attachment(*a) for a in attachments]
    for file in files:
        _check_attachment(file)
    # Render now so a missing template or variable fails the caller, not a job hours later.
    render_email(template, stored_context)

    now = uow.clock.now()
    log = EmailLog(
        id=new_uuid(),
        to_address=address,
        template=template,
        status=EmailStatus.QUEUED.value,
        attempts=0,
        related_type=related_type,
        related_id=related_id,
        created_at=now,
        updated_at=now,
        payload=EmailPayload(context=stored_context),
        attachments=[
            EmailAttachment(
                position=i, filename=f.filename, content_type=f.content_type, content=f.content
            )
            for i, f in enumerate(files)
        ],
    )
    uow.session.add(log)  # flushed with the job: its id is already known
    await jobs_service.enqueue(uow, SEND_EMAIL_JOB, {"email_id": str(log.id)})
    return log


async def get_email(uow: UnitOfWork, email_id: uuid.UUID) -> EmailLog:
    log = await repository.get(uow.session, email_id)
    if log is None:
        raise NotFound("No such email.")
    return log


async def emails_about(uow: UnitOfWork, related_type: str, related_id: uuid.UUID) -> list[EmailLog]:
    return await repository.for_resource(uow.session, related_type, related_id)


async def load_outgoing(uow: UnitOfWork, email_id: uuid.UUID) -> OutgoingEmail | None:
    log = await repository.get_with_content(uow.session, email_id)
    if log is None:
        return None
    return OutgoingEmail(
        id=log.id,
        to=log.to_address,
        template=log.template,
        status=EmailStatus(log.status),
        context=dict(log.payload.context) if log.payload is not None else {},
        attachments=tuple(
            Attachment(a.filename, a.content_type, a.content) for a in log.attachments
        ),
    )


async def record_sent(uow: UnitOfWork, email_id: uuid.UUID) -> None:
    log = await repository.get(uow.session, email_id)
    if log is None:
        return
    log.status = EmailStatus.SENT.value
    log.attempts += 1
    log.last_error = None
    log.sent_at = log.updated_at = uow.clock.now()
    # Delivered: the content has done its job and is personal data we no longer need.
    await repository.delete_content(uow.session, email_id)
    await uow.flush()


async def record_failure(uow: UnitOfWork, email_id: uuid.UUID, error: str, *, final: bool) -> None:
    """Note a failed attempt. The content is kept even when final, so that an operator who
    re-runs the dead job still has a message to send."""
    log = await repository.get(uow.session, email_id)
    if log is None:
        return
    log.attempts += 1
    log.last_error = error[:MAX_ERROR_LENGTH]
    log.status = (EmailStatus.FAILED if final else EmailStatus.QUEUED).value
    log.updated_at = uow.clock.now()
    await uow.flush()


def _valid_address(to: str) -> str:
    try:
        return validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"Not a valid email address: {exc}", field="to") from exc


def _json_context(context: Mapping[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> str:
        if isinstance(value, uuid.UUID | datetime | date | Decimal):
            return str(value)
        raise TypeError(f"email context values must be JSON data, not {type(value).__name__}")

    loaded: dict[str, Any] = json.loads(json.dumps(dict(context), default=plain))
    return loaded


def _check_attachment(file: Attachment) -> None:
    maintype, slash, subtype = file.content_type.partition("/")
    if not (maintype and slash and subtype) or not file.filename:
        raise ValueError(f"attachment needs a filename and a type/subtype: {file[:2]!r}")
    if not isinstance(file.content, bytes):
        raise TypeError("attachment content must be bytes")
