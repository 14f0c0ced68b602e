"""Stripe's errors in the domain's terms.

A decline is an answer, not an error: ``decline_reason`` turns Stripe's ``code`` /
``decline_code`` into the stable, lower-case reasons of ``payment_failed``. Everything else
becomes a ``GatewayError``, split by what the caller may conclude about the money:

- ``GatewayTimeout``: the outcome is unknown (no answer in time, a connection dropped after the
  request went out, a 500 -- which Stripe documents as indeterminate --, a 409 because a request
  with the same idempotency key is still running). The caller reconciles by the key.
- ``GatewayUnavailable``: provably nothing happened (connection refused, 503, rate limited,
  our key refused).
- ``GatewayError(code)``: Stripe refused the request itself (``InvalidRequestError``,
  ``IdempotencyError``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import structlog

from admitone.payments.errors import GatewayError, GatewayTimeout, GatewayUnavailable

if TYPE_CHECKING:
    import stripe

log = structlog.get_logger(__name__)

# Stripe's decline codes that a buyer can act on, by the reason admitone reports. Anything else
# (generic_decline, do_not_honor, fraudulent, lost_card, stolen_card, ...) is "card_declined":
# Stripe advises against telling a buyer that their card was flagged as lost, stolen or fraud.
_REASONS = {
    "insufficient_funds": "insufficient_funds",
    "expired_card": "expired_card",
    "incorrect_cvc": "incorrect_cvc",
    "invalid_cvc": "incorrect_cvc",
    "incorrect_number": "incorrect_number",
    "invalid_number": "incorrect_number",
    "invalid_expiry_month": "invalid_expiry",
    "invalid_expiry_year": "invalid_expiry",
    "processing_error": "processing_error",
    "authentication_required": "authentication_required",
    "payment_intent_authentication_failure": "authentication_failed",
}

_UNKNOWN_OUTCOME_STATUSES = frozenset({409, 500, 502, 504})


def decline_reason(code: str | None, decline_code: str | None) -> str:
    """The reason of a card decline: the issuer's ``decline_code`` when it says more than
    Stripe's ``code`` (``card_declined`` + ``insufficient_funds``)."""
    for candidate in (decline_code, code):
        if candidate in _REASONS:
            return _REASONS[candidate]
    return "card_declined"


def to_gateway_error(exc: stripe.StripeError, operation: str) -> GatewayError:
    """The domain error for a Stripe error that is not a card decline. Logs the error class,
    status and code only: never the message (it can quote parameters) nor the request."""
    # Imported here: the SDK is 30 MB of a web worker, and only the Stripe gateway (which has
    # loaded it) gets here; ``decline_reason`` serves the webhooks of any process without it.
    import stripe  # noqa: PLC0415

    status = exc.http_status
    code = exc.code
    log.warning(
        "stripe_call_failed",
        operation=operation,
        error=type(exc).__name__,
        status=status,
        code=code,
        request_id=exc.request_id,
    )
    if isinstance(exc, stripe.APIConnectionError):
        return _connection_error(exc)
    if isinstance(exc, stripe.IdempotencyError):
        return GatewayError("idempotency_error", "idempotency key reused with other parameters")
    if isinstance(exc, stripe.RateLimitError):
        return GatewayUnavailable("the payment gateway is rate limiting us")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        # Our configuration, not the buyer's card: an operator must fix the key.
        log.error("stripe_key_refused", operation=operation, status=status)
        return GatewayUnavailable()
    if isinstance(exc, stripe.InvalidRequestError):
        return GatewayError(code or "invalid_request", exc.user_message or "")
    if status in _UNKNOWN_OUTCOME_STATUSES:
        return GatewayTimeout(f"the payment gateway answered {status}; the outcome is unknown")
    if status is not None and status >= 500:
        return GatewayUnavailable()
    return GatewayError(code or "gateway_error", exc.user_message or "")


def _connection_error(exc: stripe.APIConnectionError) -> GatewayError:
    cause = exc.__cause__
    if isinstance(cause, httpx.ConnectError):
        # The connection was never made, so the request never reached Stripe.
        return GatewayUnavailable()
    if isinstance(cause, httpx.TimeoutException):
        return GatewayTimeout()
    # The connection broke after the request may have been sent: as unknown as a timeout.
    return GatewayTimeout("the connection to the payment gateway broke; the outcome is unknown")
