"""The guest's secret for an order: a reference alone must never open someone's order."""

from __future__ import annotations

import uuid

from admitone.config import Settings
from admitone.core.security import derive_token


def order_access_token(settings: Settings, order_id: uuid.UUID) -> str:
    """Rotating ADMITONE_SECRET_KEY invalidates every guest link already emailed."""
    return derive_token(settings.signing_key, "order-access", order_id)
