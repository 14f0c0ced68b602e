"""What the job machinery and the job handlers use of the process that runs them. The process's
``admitone.runtime.Runtime`` satisfies it structurally; the jobs package never imports the
composition root, so importing a handler's module loads no other domain."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from admitone.config import Settings
from admitone.core.clock import Clock
from admitone.core.db import Database, UnitOfWork
from admitone.notifications.senders import EmailSender
from admitone.payments.gateway import PaymentGateway


class JobRuntime(Protocol):
    settings: Settings
    database: Database
    clock: Clock
    email_sender: EmailSender
    gateway: PaymentGateway

    def unit_of_work(
        self, *, readonly: bool = False
    ) -> AbstractAsyncContextManager[UnitOfWork]: ...
