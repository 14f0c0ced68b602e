"""Build the configured gateway: the in-memory fake (the default) or Stripe."""

from __future__ import annotations

from admitone.config import Settings
from admitone.payments.fake import FakeGateway
from admitone.payments.gateway import PaymentGateway


def build_gateway(settings: Settings) -> PaymentGateway:
    if settings.payment_gateway == "fake":
        return FakeGateway(
            latency_seconds=settings.fake_gateway_latency_ms / 1000,
            default_payment_method=settings.fake_gateway_default_payment_method,
        )
    if settings.payment_gateway == "stripe":
        # Only then: the SDK is 30 MB of every process that imports it.
        from admitone.payments.stripe_gateway import StripeGateway  # noqa: PLC0415

        return StripeGateway.from_settings(settings)
    raise ValueError(f"unknown payment gateway {settings.payment_gateway!r}")
