"""An invoice asked for while the order is being cancelled: either the invoice comes first and
the cancel credits it, or the cancel comes first and no invoice is issued. Never an invoice
left standing on a refunded order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from admitone.accounts.models import Role
from admitone.app import create_app
from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.runtime import Runtime
from tests.billing.conftest import INVOICES, ask_invoice, buy
from tests.conftest import RELAXED_RATE_LIMITS, create_user, make_client, started
from tests.support.users import sign_in
from tests.ticketing.conftest import make_event

ORDERS = 10


@pytest.fixture
async def racing_app(
    settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[Runtime, FastAPI]]:
    racing = settings.model_copy(
        update={
            **RELAXED_RATE_LIMITS,
            "fake_gateway_latency_ms": 0.0,
            "database_pool_size": 10,
            "database_max_overflow": 10,
        }
    )
    async with started(Runtime.build(racing, clock)) as runtime:
        app = create_app(runtime)
        async with app.router.lifespan_context(app):
            yield runtime, app


async def test_an_invoice_racing_a_cancel_is_credited_or_never_issued(
    racing_app: tuple[Runtime, FastAPI],
) -> None:
    runtime, app = racing_app
    organizer = await create_user(runtime, Role.ORGANIZER)
    event = await make_event(runtime, organizer)
    async with make_client(app) as client:
        admin = await sign_in(client, runtime, Role.ADMIN)
        orders = await asyncio.gather(
            *(
                buy(client, event.id, quantity=1, email=f"race{n}@example.com")
                for n in range(ORDERS)
            )
        )

        async def cancel(order_id: str, token: str) -> httpx.Response:
            return await client.post(
                f"/api/orders/{order_id}/cancel", params={"token": token}, json={}
            )

        results = await asyncio.gather(
            *(
                call
                for o in orders
                for call in (
                    ask_invoice(client, o["id"], token=o["access_token"]),
                    cancel(o["id"], o["access_token"]),
                )
            )
        )
        documents = (
            await client.get(INVOICES, params={"limit": 200}, headers=admin.headers)
        ).json()["data"]

    asked, cancels = results[0::2], results[1::2]
    assert [r.status_code for r in cancels] == [200] * ORDERS
    invoices = {d["order_id"]: d for d in documents if d["kind"] == "invoice"}
    credits = {d["credits_invoice_id"]: d for d in documents if d["kind"] == "credit_note"}
    for order, response in zip(orders, asked, strict=True):
        if response.status_code == 201:
            invoice = invoices[order["id"]]
            assert invoice["status"] == "voided"
            assert credits[invoice["id"]]["gross_total"] == invoice["gross_total"]
        else:
            assert response.status_code == 404
            assert order["id"] not in invoices
    numbers = sorted(int(i["number"].rsplit("-", 1)[1]) for i in invoices.values())
    assert numbers == list(range(1, len(invoices) + 1))
    assert len(credits) == len(invoices)
