"""A declined renewal and its grace running out reach the subscriber through a real SMTP
server: the reminder, then the notice that the subscription ended."""

from __future__ import annotations

from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.payments.fake import FakeGateway
from admitone.runtime import Runtime
from tests.billing.test_emails import smtp_app, smtp_server  # noqa: F401 - fixtures
from tests.conftest import make_client
from tests.notifications.smtp_server import SmtpServer
from tests.support.subscriptions import make_plan, run_renewals, subscribe
from tests.support.users import sign_in


async def test_the_reminder_and_the_end_of_the_grace_are_emailed(
    smtp_app: tuple[Runtime, FastAPI],  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    clock: FrozenClock,
) -> None:
    runtime, app = smtp_app
    async with make_client(app) as client:
        organizer = await sign_in(client, runtime, Role.ORGANIZER)
        subscriber = await sign_in(client, runtime, Role.CUSTOMER)
        plan = await make_plan(runtime, organizer.user.id, name="Friends of the Hall")
        await subscribe(client, subscriber.headers, plan.id)
    assert isinstance(runtime.gateway, FakeGateway)
    runtime.gateway.set_failure_mode("card_declined")
    clock.advance(days=31)
    await run_renewals(runtime)
    await drain(runtime)
    clock.advance(days=8)
    await run_renewals(runtime)
    await drain(runtime)
    subjects = [m["Subject"] for m in smtp_server.received if m["To"] == subscriber.user.email]
    assert "Your Friends of the Hall subscription could not be renewed" in subjects
    assert "Your Friends of the Hall subscription has ended" in subjects
    [reminder] = [m for m in smtp_server.received if "could not be renewed" in m["Subject"]]
    text = reminder.get_body(("plain",))
    assert text is not None and "15.00 EUR" in text.get_content()
    assert "card declined" in text.get_content()
