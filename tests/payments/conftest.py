"""Fixtures of the payments tests: a fake Stripe HTTP server and the real Stripe adapter (the
official SDK) pointed at it (defined in ``stripe_fixtures``, so other test packages can import
them the same way)."""

from tests.payments.stripe_fixtures import (  # noqa: F401 - fixtures
    fake_stripe,
    fake_stripe_server,
    stripe_gateway,
)
