"""Build the configured gateway (the Stripe adapter arrives with its own issue)."""

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
    raise ValueError(f"unknown payment gateway {settings.payment_gateway!r}")
