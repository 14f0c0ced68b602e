from __future__ import annotations

import io
from email.message import EmailMessage

from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.notifications.messages import Attachment, compose_message, render_email
from admitone.notifications.senders import (
    ConsoleSender,
    MemorySender,
    SmtpSender,
    build_email_sender,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


def welcome(name: str = "Ada", attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    rendered = render_email("welcome", {"name": name, "sign_in_url": "https://a.test/login"})
    return compose_message(
        rendered,
        sender="admitone <tickets@admitone.test>",
        to="ada@example.com",
        message_id="<1@admitone.test>",
        date=FrozenClock().now(),
        attachments=attachments,
    )


async def test_memory_sender_keeps_every_message_for_assertions() -> None:
    sender = MemorySender()
    await sender.send(welcome())
    await sender.send(welcome("Grace"))

    assert [m["Subject"] for m in sender.messages] == [
        "Welcome to admitone, Ada",
        "Welcome to admitone, Grace",
    ]
    assert len(sender.to("ada@example.com")) == 2


async def test_console_sender_prints_the_message_but_not_attachment_bytes() -> None:
    out = io.StringIO()
    await ConsoleSender(out).send(
        welcome(attachments=(Attachment("t.pdf", "application/pdf", PDF),))
    )

    printed = out.getvalue()
    assert "Subject: Welcome to admitone, Ada" in printed
    assert "Hello Ada," in printed
    assert f"[attachment t.pdf application/pdf {len(PDF)} bytes]" in printed
    assert "JVBERi0" not in printed  # base64 of "%PDF-"


async def test_console_sender_prints_to_stdout_by_default(capsys) -> None:
    await ConsoleSender().send(welcome())

    assert "Welcome to admitone, Ada" in capsys.readouterr().out


def test_the_backend_setting_picks_the_sender() -> None:
    def built(backend: str) -> object:
        return build_email_sender(Settings(email_backend=backend, smtp_port=2525))

    assert isinstance(built("console"), ConsoleSender)
    assert isinstance(built("memory"), MemorySender)
    smtp = built("smtp")
    assert isinstance(smtp, SmtpSender)
    assert smtp.port == 2525


def test_html_part_escapes_the_context_and_text_part_keeps_it_as_typed() -> None:
    message = welcome(name="<b>Tom & Jerry</b>")

    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in html.get_content()
    assert "<b>Tom & Jerry</b>" not in html.get_content()
    assert "Hello <b>Tom & Jerry</b>," in text.get_content()
    assert message["Subject"] == "Welcome to admitone, <b>Tom & Jerry</b>"
