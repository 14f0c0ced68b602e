"""Email senders: SMTP (production), console (development) and memory (tests).

A sender only delivers a message it is handed; retries and bookkeeping belong to the send job.
"""

from __future__ import annotations

import sys
from email.message import EmailMessage
from typing import Protocol, TextIO

import aiosmtplib

from admitone.config import Settings


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class PermanentSendError(Exception):
    """The server refused the message for good (a 5xx reply): sending it again cannot help."""


class SmtpSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self._password = password
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=self.tls == "tls",
                # False, not None: None would upgrade whenever the server offers STARTTLS,
                # and "none" is what the operator asked for.
                start_tls=self.tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(refusal.code >= 500 for refusal in exc.recipients):
                raise PermanentSendError(_describe(exc)) from exc
            raise
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            if exc.code >= 500:
                raise PermanentSendError(_describe(exc)) from exc
            raise


def _describe(exc: aiosmtplib.SMTPException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return str(exc)


class ConsoleSender:
    """Prints each message for a developer to read; attachments only by name and size."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: EmailMessage) -> None:
        out = self._stream or sys.stdout
        lines = [f"{name}: {value}" for name, value in message.items()]
        for part in message.walk():
            if part.is_multipart():
                continue
            if part.is_attachment():
                size = len(part.get_payload(decode=True) or b"")
                lines.append(
                    f"[attachment {part.get_filename()} {part.get_content_type()} {size} bytes]"
                )
            else:
                lines += ["", f"--- {part.get_content_type()} ---", str(part.get_content())]
        out.write("\n".join(["=" * 72, *lines, "=" * 72, ""]))
        out.flush()


class MemorySender:
    """Keeps every message it is handed, for tests to assert on."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()


def build_email_sender(settings: Settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SmtpSender.from_settings(settings)
    if settings.email_backend == "memory":
        return MemorySender()
    return ConsoleSender()
