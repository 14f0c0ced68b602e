"""A real SMTP server for tests: aiosmtpd in its own thread on a free loopback port, with a
mailbox that can be told to fail its first attempts."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class MailboxHandler:
    """Accepts messages, except that the first attempts follow ``script``: an SMTP reply such as
    ``"451 4.3.0 Try again later"`` to return instead of accepting, or ``"drop"`` to hang up."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.data_attempts = 0
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.script:
            action = self.script.pop(0)
            if action == "drop":
                server.transport.abort()
                return "421 4.3.0 Going away"
            return action
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 2.0.0 Queued"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = MailboxHandler()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received
