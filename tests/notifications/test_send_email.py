"""The use case other domains call: log and enqueue in their transaction; a job sends."""

from __future__ import annotations

import uuid

import pytest
from jinja2 import UndefinedError
from sqlalchemy import func, select

from admitone.core.clock import FrozenClock
from admitone.core.errors import InvalidInput
from admitone.jobs import service as jobs_service
from admitone.jobs.worker import drain
from admitone.notifications import service as notifications_service
from admitone.notifications.messages import TemplateMissing
from admitone.notifications.models import EmailLog, EmailStatus
from admitone.notifications.senders import MemorySender
from admitone.runtime import Runtime
from tests.notifications.helpers import WELCOME, email_log, queue_welcome, stored_content_rows


class OrderFailed(Exception):
    pass


async def test_email_is_logged_as_queued_and_sent_only_by_the_job(
    memory_runtime: Runtime, outbox: MemorySender, clock: FrozenClock
) -> None:
    email_id = await queue_welcome(memory_runtime, to="Ada@Example.com")

    queued = await email_log(memory_runtime, email_id)
    assert (queued.status, queued.attempts, queued.to_address) == ("queued", 0, "Ada@example.com")
    assert outbox.messages == []

    assert await drain(memory_runtime) == 1

    [message] = outbox.messages
    assert message["To"] == "Ada@example.com"
    assert message["Subject"] == "Welcome to admitone, Ada"
    sent = await email_log(memory_runtime, email_id)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, clock.now())
    assert sent.last_error is None


async def test_a_rolled_back_business_transaction_sends_nothing(
    memory_runtime: Runtime, outbox: MemorySender
) -> None:
    with pytest.raises(OrderFailed):
        async with memory_runtime.unit_of_work() as uow:
            await notifications_service.send_email(
                uow, to="ada@example.com", template="welcome", context=WELCOME
            )
            raise OrderFailed

    assert await drain(memory_runtime) == 0
    assert outbox.messages == []
    async with memory_runtime.unit_of_work(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(EmailLog)) == 0


async def test_an_email_already_sent_is_not_sent_again_by_a_second_job(
    memory_runtime: Runtime, outbox: MemorySender
) -> None:
    email_id = await queue_welcome(memory_runtime)
    await drain(memory_runtime)
    # As if the job's own completion had been lost and the job ran again.
    async with memory_runtime.unit_of_work() as uow:
        await jobs_service.enqueue(
            uow, notifications_service.SEND_EMAIL_JOB, {"email_id": str(email_id)}
        )

    assert await drain(memory_runtime) == 1

    assert len(outbox.messages) == 1
    assert (await email_log(memory_runtime, email_id)).attempts == 1


async def test_context_and_attachments_are_stored_until_sent_then_deleted(
    memory_runtime: Runtime, outbox: MemorySender
) -> None:
    email_id = await queue_welcome(
        memory_runtime, attachments=[("ticket.pdf", "application/pdf", b"%PDF-1.7 ticket")]
    )
    assert await stored_content_rows(memory_runtime, email_id) == 2

    await drain(memory_runtime)

    [message] = outbox.messages
    [attachment] = message.iter_attachments()
    assert attachment.get_content() == b"%PDF-1.7 ticket"
    assert await stored_content_rows(memory_runtime, email_id) == 0


async def test_the_log_links_emails_to_the_resource_they_are_about(memory_runtime: Runtime) -> None:
    order_id = uuid.uuid4()
    async with memory_runtime.unit_of_work() as uow:
        for to in ("a@example.com", "b@example.com"):
            await notifications_service.send_email(
                uow,
                to=to,
                template="welcome",
                context=WELCOME,
                related_type="order",
                related_id=order_id,
            )

    async with memory_runtime.unit_of_work(readonly=True) as uow:
        emails = await notifications_service.emails_about(uow, "order", order_id)
    assert sorted(e.to_address for e in emails) == ["a@example.com", "b@example.com"]
    assert {e.status for e in emails} == {EmailStatus.QUEUED}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"to": "not-an-address"}, InvalidInput),
        ({"template": "no_such_template"}, TemplateMissing),
        ({"context": {"name": "Ada"}}, UndefinedError),
        ({"context": {**WELCOME, "when": object()}}, TypeError),
    ],
)
async def test_a_bad_email_fails_the_callers_transaction(
    memory_runtime: Runtime, outbox: MemorySender, kwargs: dict[str, object], error: type
) -> None:
    args: dict[str, object] = {"to": "ada@example.com", "template": "welcome", "context": WELCOME}
    with pytest.raises(error):
        async with memory_runtime.unit_of_work() as uow:
            await notifications_service.send_email(uow, **{**args, **kwargs})  # type: ignore[arg-type]

    assert await drain(memory_runtime) == 0
    assert outbox.messages == []
