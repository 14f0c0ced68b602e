"""Fixtures for tests that pay through Stripe: import them into a conftest by name.

- ``fake_stripe_server`` (session): the fake Stripe HTTP server, started once.
- ``fake_stripe``: that server, reset for the test (state, faults, recorded requests).
- ``stripe_gateway``: the real adapter (official SDK, HTTPX) on the fake, with a short timeout
  and one retry that happens at once.
- ``stripe_settings(settings, fake)``: settings that select Stripe and point at the fake.
- ``settings_on_stripe`` / ``runtime_on_stripe`` (named ``settings`` / ``runtime``): those
  settings (one client may buy many times), and a runtime paying through ``stripe_gateway``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from admitone.config import Settings
from admitone.core.clock import FrozenClock
from admitone.payments.stripe_gateway import StripeGateway
from admitone.runtime import Runtime
from tests.conftest import RELAXED_RATE_LIMITS, started
from tests.payments.fake_stripe import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    NoBackoffHTTPXClient,
    running_fake,
)

# Long enough for a loaded CI machine to answer, short enough that a hang test stays quick.
STRIPE_TEST_TIMEOUT = 1.0
STRIPE_TEST_RETRIES = 1


# One test client buys many times.
@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[FakeStripe]:
    yield from running_fake()


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripe) -> Iterator[FakeStripe]:
    fake_stripe_server.reset()
    yield fake_stripe_server
    fake_stripe_server.reset()


def stripe_settings(settings: Settings, fake: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "payment_gateway": "stripe",
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_publishable_key": PUBLISHABLE_KEY,
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": fake.base_url,
            "stripe_timeout_seconds": STRIPE_TEST_TIMEOUT,
            "stripe_max_network_retries": STRIPE_TEST_RETRIES,
        }
    )


def make_stripe_gateway(
    fake: FakeStripe,
    *,
    timeout: float = STRIPE_TEST_TIMEOUT,
    retries: int = STRIPE_TEST_RETRIES,
) -> StripeGateway:
    return StripeGateway(
        SECRET_KEY,
        api_base=fake.base_url,
        timeout_seconds=timeout,
        max_network_retries=retries,
        http_client=NoBackoffHTTPXClient(timeout=timeout),
    )


@pytest.fixture
async def stripe_gateway(fake_stripe: FakeStripe) -> AsyncIterator[StripeGateway]:
    gateway = make_stripe_gateway(fake_stripe)
    yield gateway
    await gateway.aclose()


@pytest.fixture(name="settings")
def settings_on_stripe(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    return stripe_settings(settings.model_copy(update=RELAXED_RATE_LIMITS), fake_stripe)


@pytest.fixture(name="runtime")
async def runtime_on_stripe(
    settings: Settings, clock: FrozenClock, stripe_gateway: StripeGateway
) -> AsyncIterator[Runtime]:
    async with started(Runtime.build(settings, clock, gateway=stripe_gateway)) as runtime:
        yield runtime
