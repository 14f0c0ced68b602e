"""Invoices and credit notes reach the buyer by email through a real SMTP server, with their
PDF attached, sent by a job enqueued when they are issued."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.billing import emails as billing_emails
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.jobs.worker import drain
from admitone.notifications import service as notifications_service
from admitone.runtime import Runtime
from tests.billing.conftest import BUYER_EMAIL, PROFILE, ask_invoice, buy
from tests.conftest import make_client, started
from tests.notifications.smtp_server import SmtpServer
from tests.support.app_process import free_port
from tests.support.users import sign_in
from tests.ticketing.conftest import make_event


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def smtp_app(
    settings: Settings, clock: FrozenClock, smtp_server: SmtpServer
) -> AsyncIterator[tuple[Runtime, FastAPI]]:
    smtp_settings = settings.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_tls": "none",
            "smtp_timeout_seconds": 5.0,
        }
    )
    async with started(Runtime.build(smtp_settings, clock)) as runtime:
        app = create_app(runtime)
        async with app.router.lifespan_context(app):
            yield runtime, app


async def test_the_invoice_and_its_credit_note_are_emailed_with_their_pdf(
    smtp_app: tuple[Runtime, FastAPI], smtp_server: SmtpServer
) -> None:
    runtime, app = smtp_app
    async with make_client(app) as client:
        organizer = await sign_in(client, runtime, Role.ORGANIZER)
        buyer = await sign_in(client, runtime, Role.CUSTOMER)
        event = await make_event(runtime, organizer.user)
        order = await buy(client, event.id, buyer.headers)
        invoice = (
            await ask_invoice(client, order["id"], buyer.headers, {"billing": PROFILE})
        ).json()
        await drain(runtime)
        cancelled = await client.post(
            f"/api/orders/{order['id']}/cancel", json={}, headers=buyer.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        await drain(runtime)
        again = await ask_invoice(client, order["id"], buyer.headers)
        assert again.status_code == 200
        await drain(runtime)

    # The order's confirmation and refund emails arrive too; these are the billing ones.
    documents = {
        m["Subject"]: m
        for m in smtp_server.received
        if m["Subject"].startswith(("Your invoice", "Credit note"))
    }
    assert sorted(documents) == [
        f"Credit note CN-2026-000001 (order {order['reference']})",
        f"Your invoice {invoice['number']} (order {order['reference']})",
    ]
    for number, message in (
        (
            invoice["number"],
            documents[f"Your invoice {invoice['number']} (order {order['reference']})"],
        ),
        ("CN-2026-000001", documents[f"Credit note CN-2026-000001 (order {order['reference']})"]),
    ):
        assert message["To"] == BUYER_EMAIL
        [attachment] = message.iter_attachments()
        assert attachment.get_filename() == f"{number}.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content().startswith(b"%PDF")
        text = message.get_body(("plain",))
        assert text is not None and "/api/invoices/" in text.get_content()


async def test_a_guests_invoice_email_links_with_the_orders_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    organizer = await sign_in(client, runtime, Role.ORGANIZER)
    event = await make_event(runtime, organizer.user)
    order = await buy(client, event.id)
    response = await ask_invoice(
        client, order["id"], body={"billing": PROFILE}, token=order["access_token"]
    )
    assert response.status_code == 201
    async with runtime.unit_of_work() as uow:  # the email job's work, short of delivering it
        assert await billing_emails.send(uow, runtime.settings, uuid.UUID(response.json()["id"]))

    async with runtime.unit_of_work(readonly=True) as uow:
        [email] = await notifications_service.emails_about(
            uow, "invoice", uuid.UUID(response.json()["id"])
        )
        outgoing = await notifications_service.load_outgoing(uow, email.id)
    assert outgoing is not None
    assert outgoing.to == BUYER_EMAIL
    assert outgoing.context["document_url"].endswith(f"?token={order['access_token']}")
    [attachment] = outgoing.attachments
    assert attachment.content.startswith(b"%PDF")
