"""What a gateway call can raise. A declined card is not an exception: it is a charge whose
status is ``failed`` (the gateway answered); these are the cases where it did not answer well."""

from __future__ import annotations


class GatewayError(Exception):
    """The gateway refused the request itself (bad parameters, an idempotency key reused with
    other parameters, a refund of an unpaid charge). ``code`` is stable and lower-case."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class GatewayTimeout(GatewayError):
    """No answer in time. The outcome is unknown: the charge may or may not exist, so callers
    must treat the money as possibly taken and reconcile through the idempotency key."""

    def __init__(self, message: str = "the payment gateway did not answer in time") -> None:
        super().__init__("timeout", message)


class GatewayUnavailable(GatewayError):
    def __init__(self, message: str = "the payment gateway is unavailable") -> None:
        super().__init__("gateway_unavailable", message)
