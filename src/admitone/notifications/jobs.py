"""The send job: render and send outside any transaction, then record the outcome in a short one.

Idempotent: a message the log already calls sent is never sent again, whatever the job table
thinks. The one window left is a crash between the server's "250 OK" and the commit of
``record_sent``; the retry then sends a copy with the same Message-ID, which receivers can drop.
"""

from __future__ import annotations

import uuid
from email.utils import parseaddr

from jinja2 import TemplateError

from admitone.jobs.errors import PermanentJobFailure
from admitone.jobs.registry import JobContext, job_handler
from admitone.jobs.runtime import JobRuntime
from admitone.notifications import service as notifications_service
from admitone.notifications.messages import TemplateMissing, compose_message, render_email
from admitone.notifications.models import EmailStatus
from admitone.notifications.senders import PermanentSendError

# 30 s, 1 min, 2 min, 4 min between the five attempts (plus jitter): a restarting mail server
# is back within that, and a customer still gets the tickets within minutes.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 30 * 60.0


@job_handler(
    notifications_service.SEND_EMAIL_JOB,
    queue="emails",
    max_attempts=5,
    backoff_base=BACKOFF_BASE_SECONDS,
    backoff_cap=BACKOFF_CAP_SECONDS,
)
async def send_email_job(ctx: JobContext) -> None:
    runtime = ctx.runtime
    email_id = uuid.UUID(str(ctx.args["email_id"]))
    async with runtime.unit_of_work(readonly=True) as uow:
        outgoing = await notifications_service.load_outgoing(uow, email_id)
    if outgoing is None or outgoing.status is EmailStatus.SENT:
        return

    try:
        message = compose_message(
            render_email(outgoing.template, outgoing.context),
            sender=runtime.settings.email_from,
            to=outgoing.to,
            message_id=_message_id(email_id, runtime.settings.email_from),
            date=runtime.clock.now(),
            attachments=outgoing.attachments,
        )
    except (TemplateMissing, TemplateError) as exc:
        # The template changed since the email was queued; no retry renders it differently.
        await _record_failure(runtime, email_id, exc, final=True)
        raise PermanentJobFailure(f"email {email_id} cannot be rendered") from exc

    try:
        await runtime.email_sender.send(message)
    except PermanentSendError as exc:
        await _record_failure(runtime, email_id, exc, final=True)
        raise PermanentJobFailure(f"email {email_id} refused by the server") from exc
    except Exception as exc:
        await _record_failure(runtime, email_id, exc, final=ctx.attempt >= ctx.max_attempts)
        raise

    async with runtime.unit_of_work() as uow:
        await notifications_service.record_sent(uow, email_id)


async def _record_failure(
    runtime: JobRuntime, email_id: uuid.UUID, exc: BaseException, *, final: bool
) -> None:
    async with runtime.unit_of_work() as uow:
        await notifications_service.record_failure(
            uow, email_id, _error_text(exc, runtime.settings.smtp_password), final=final
        )


def _error_text(exc: BaseException, secret: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    # Servers echo odd things back; the SMTP password must never reach the log table.
    return text.replace(secret, "***") if secret else text


def _message_id(email_id: uuid.UUID, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "admitone.invalid"
    return f"<{email_id}@{domain}>"
