"""Domain errors. Each carries an HTTP status and a stable code; one handler renders them."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request could not be processed."
    # When True the unit of work commits what was done before the error was raised (a refresh
    # token reuse revokes the family, a declined payment returns the capacity) and the error is
    # still answered. The default is to roll everything back.
    keeps_changes: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        if field is not None:
            self.details.setdefault("field", field)
        super().__init__(self.message)


class BadRequest(DomainError):
    pass


class InvalidInput(DomainError):
    status_code = 422
    code = "validation_error"
    default_message = "The request body is invalid."


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication is required."


class InvalidToken(DomainError):
    status_code = 401
    code = "invalid_token"
    default_message = "The token is invalid or has expired."


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    default_message = "A dependency of the service is unavailable."
