"""Email senders. Placeholder: the platform-services issue brings SMTP, console and memory."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from admitone.config import Settings


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class ConsoleSender:
    async def send(self, message: EmailMessage) -> None:
        print(message)


def build_email_sender(settings: Settings) -> EmailSender:
    return ConsoleSender()
