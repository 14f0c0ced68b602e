"""Idempotent purchases: a retried request with the same key gets the same order.

Keys are scoped to the buyer (``buyer_key``): the same key from two buyers names two orders.
A key is bound to a fingerprint of its request, so reusing it for another purchase is refused
instead of silently answering with an order the client did not ask for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from admitone.core.ids import sha256_hex

MAX_KEY_LENGTH = 255


def buyer_key(user_id: uuid.UUID | None, email: str) -> str:
    """Who buys: the account when signed in, otherwise the email address."""
    return f"user:{user_id}" if user_id is not None else f"email:{email.strip().lower()}"


def fingerprint(
    *,
    event_id: uuid.UUID,
    items: Sequence[tuple[uuid.UUID | None, int]],
    customer_email: str,
    customer_name: str,
    payment_method: str | None,
    products: Sequence[tuple[str, int, dict[str, str]]] = (),
    cart_id: uuid.UUID | None = None,
    coupon_code: str | None = None,
    invoice: Mapping[str, object] | None = None,
) -> str:
    """A digest of what the request asks for. ``None`` as a tier means "the default tier".
    Products, the cart and a coupon are in it only when there are some, so a tickets-only
    request keeps the digest it always had."""
    canonical: dict[str, object] = {
        "event": str(event_id),
        "items": sorted([str(tier) if tier else "default", qty] for tier, qty in items),
        "email": customer_email.strip().lower(),
        "name": customer_name.strip(),
        "payment_method": payment_method,
    }
    if products:
        canonical["products"] = sorted(
            [product, qty, sorted(choice.items())] for product, qty, choice in products
        )
    if cart_id is not None:
        canonical["cart"] = str(cart_id)
    if coupon_code is not None:
        # Only when there is one: the digests of purchases without a coupon stay as they were.
        canonical["coupon"] = coupon_code.strip().lower()
    if invoice is not None:
        canonical["invoice"] = invoice
    return sha256_hex(json.dumps(canonical, sort_keys=True, separators=(",", ":")))


def charge_key(order_id: uuid.UUID) -> str:
    """The gateway idempotency key of an order's charge: one order, at most one charge."""
    return f"admitone-order-{order_id}-charge"


def cancel_key(order_id: uuid.UUID) -> str:
    """The gateway idempotency key of cancelling an order's charge."""
    return f"admitone-order-{order_id}-cancel"


def refund_key(order_id: uuid.UUID) -> str:
    """The gateway idempotency key of an order's refund: however many cancels race, or however
    often a refund is retried, the gateway refunds once."""
    return f"admitone-order-{order_id}-refund"
