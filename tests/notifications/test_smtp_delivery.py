"""Delivery through a real SMTP server (aiosmtpd on loopback), including a server that fails,
one that is down, and one that refuses for good."""

from __future__ import annotations

from datetime import timedelta

from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.notifications.jobs import BACKOFF_CAP_SECONDS
from admitone.notifications.messages import Attachment
from admitone.runtime import Runtime
from tests.notifications.helpers import email_log, queue_welcome, stored_content_rows
from tests.notifications.smtp_server import SmtpServer

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64  # every byte value, so any mangling shows
# Past any backoff the send job can choose, jitter included.
PAST_BACKOFF = timedelta(seconds=BACKOFF_CAP_SECONDS * 2)


async def test_text_html_and_attachment_arrive_intact(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    email_id = await queue_welcome(
        smtp_runtime,
        attachments=[Attachment("ticket-1.pdf", "application/pdf", PDF)],
    )

    assert await drain(smtp_runtime) == 1

    [message] = smtp_server.received
    assert message["To"] == "ada@example.com"
    assert message["From"] == "admitone <tickets@admitone.test>"
    assert message["Subject"] == "Welcome to admitone, Ada"
    assert message["Message-ID"] == f"<{email_id}@admitone.test>"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and "sign in at https://admitone.test/login" in text.get_content()
    assert html is not None and '<a href="https://admitone.test/login"' in html.get_content()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "ticket-1.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    assert (await email_log(smtp_runtime, email_id)).status == "sent"


async def test_a_server_failing_the_first_attempts_delivers_exactly_once_after_backoff(
    smtp_runtime: Runtime, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    smtp_server.handler.script = ["drop", "451 4.3.0 Try again later"]
    email_id = await queue_welcome(smtp_runtime)

    assert await drain(smtp_runtime) == 1  # hung up on
    first = await email_log(smtp_runtime, email_id)
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.last_error is not None
    assert await drain(smtp_runtime) == 0  # nothing is retried before its backoff ends

    clock.advance(PAST_BACKOFF)
    assert await drain(smtp_runtime) == 1  # 451
    second = await email_log(smtp_runtime, email_id)
    assert (second.status, second.attempts) == ("queued", 2)
    assert second.last_error is not None and "451" in second.last_error
    assert smtp_server.received == []

    clock.advance(PAST_BACKOFF)
    assert await drain(smtp_runtime) == 1
    clock.advance(PAST_BACKOFF)
    assert await drain(smtp_runtime) == 0

    assert smtp_server.handler.data_attempts == 3
    assert len(smtp_server.received) == 1
    sent = await email_log(smtp_runtime, email_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)


async def test_with_smtp_down_nothing_is_lost_and_it_is_delivered_once_the_server_is_back(
    smtp_runtime: Runtime, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    smtp_server.stop()
    email_id = await queue_welcome(smtp_runtime, attachments=[("t.pdf", "application/pdf", PDF)])

    for _ in range(2):
        assert await drain(smtp_runtime) == 1
        clock.advance(PAST_BACKOFF)
    waiting = await email_log(smtp_runtime, email_id)
    assert (waiting.status, waiting.attempts) == ("queued", 2)
    assert waiting.last_error is not None
    assert await stored_content_rows(smtp_runtime, email_id) == 2  # context and attachment

    smtp_server.start()
    assert await drain(smtp_runtime) == 1

    [message] = smtp_server.received
    [attachment] = message.iter_attachments()
    assert attachment.get_content() == PDF
    assert (await email_log(smtp_runtime, email_id)).status == "sent"
    assert await stored_content_rows(smtp_runtime, email_id) == 0


async def test_an_email_is_marked_failed_after_its_last_attempt(
    smtp_runtime: Runtime, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    smtp_server.handler.script = ["451 4.3.0 Try again later"] * 10
    email_id = await queue_welcome(smtp_runtime)

    for _ in range(10):
        await drain(smtp_runtime)
        clock.advance(PAST_BACKOFF)

    failed = await email_log(smtp_runtime, email_id)
    assert (failed.status, failed.attempts) == ("failed", 5)
    assert failed.last_error is not None and "451" in failed.last_error
    assert smtp_server.handler.data_attempts == 5
    assert smtp_server.received == []


async def test_a_permanent_refusal_fails_the_email_without_retrying(
    smtp_runtime: Runtime, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    smtp_server.handler.script = ["554 5.6.0 Message refused"]
    email_id = await queue_welcome(smtp_runtime)

    await drain(smtp_runtime)
    clock.advance(PAST_BACKOFF)
    assert await drain(smtp_runtime) == 0

    failed = await email_log(smtp_runtime, email_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None and "554" in failed.last_error
    assert smtp_server.handler.data_attempts == 1
