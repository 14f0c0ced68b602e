"""Reading submitted forms: bounded text, and pydantic's errors as messages next to fields."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from starlette.datastructures import FormData

from admitone.core.errors import DomainError

MAX_FIELD_LENGTH = 1000

FieldErrors = dict[str, str]


def text(form: FormData, name: str) -> str:
    """A text field as sent (a file or a missing field is empty); longer than any field may be
    is cut, and the validation that follows refuses it by its own rule."""
    value = form.get(name)
    return value[:MAX_FIELD_LENGTH] if isinstance(value, str) else ""


def validation_errors(exc: ValidationError, fields: Mapping[str, str]) -> FieldErrors:
    """``fields`` maps a model's field path (``order.customer_email``) to the form field."""
    errors: FieldErrors = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ()))
        name = next((f for p, f in fields.items() if path == p or path.startswith(p + ".")), "")
        errors.setdefault(name, _readable(error.get("msg", "")))
    return errors


def domain_error(exc: DomainError, fields: Mapping[str, str]) -> FieldErrors:
    field = str(exc.details.get("field", ""))
    return {fields.get(field, ""): exc.message}


def _readable(message: str) -> str:
    # pydantic's messages are written for developers ("value is not a valid email address:
    # An email address must have an @-sign."): keep the part a person can act on.
    message = message.removeprefix("Value error, ")
    if message.startswith("value is not a valid email address"):
        return "Enter an email address such as name@example.com."
    if "at least 1 character" in message:
        return "This field is required."
    if "at most" in message:
        return "This is too long."
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
