"""Email addresses: which ones the API accepts, and the one form two spellings of an address
share.

Two rules, because an address is used two ways. An address the product will write to (a new
account, a guest's order) must be deliverable in form: special-use domains (``.test``,
``.invalid``, ``.localhost``, ``.local``, ``.onion``, ``.arpa``) can never receive mail and are
refused. An address that only names an account (sign-in, accounts made by the CLI) may also be
at ``.test``: the demo's accounts are ``@admitone.test`` so that the demo never mails anyone, and
refusing that domain at sign-in only locked them out. Anything else is refused by both.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

MAX_EMAIL_LENGTH = 254


def email_key(address: str) -> str:
    """The form sign-in and the unique index compare: NFKC, then full Unicode case folding
    (``Ä`` and ``ä``, ``ẞ`` and ``ss`` meet), NFKC again since folding can denormalise.
    Computed here once, because SQLite's ``lower()`` folds ASCII letters only."""
    folded = unicodedata.normalize("NFKC", address.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def _checked(address: str, *, deliverable: bool) -> str:
    try:
        valid = validate_email(
            address,
            check_deliverability=False,  # no DNS look-up inside a request
            test_environment=not deliverable,  # allows the special-use ".test" only
        )
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    if len(email_key(valid.normalized)) > MAX_EMAIL_LENGTH:
        raise ValueError(f"value is not a valid email address: longer than {MAX_EMAIL_LENGTH}")
    return valid.normalized


def deliverable_address(address: str) -> str:
    return _checked(address, deliverable=True)


def account_address(address: str) -> str:
    return _checked(address, deliverable=False)


def _refusing(domains: list[str]) -> dict[str, str]:
    """``format: email`` does not say which domains are refused; a ``pattern`` does (JSON Schema
    patterns take no flags, so each letter matches either case)."""
    names = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
        for name in sorted(domains)
    )
    return {"format": "email", "pattern": rf"^(?!.*@(?:[^@]*\.)?(?:{names})$).*$"}


# An address the product will send mail to (registration, a guest's order).
DeliverableEmail = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, json_schema_extra=_refusing(SPECIAL_USE_DOMAIN_NAMES)),
    AfterValidator(deliverable_address),
]
# An address that names an account (sign-in): a deliverable one, or one at ".test".
AccountEmail = Annotated[
    str,
    Field(
        max_length=MAX_EMAIL_LENGTH,
        json_schema_extra=_refusing([d for d in SPECIAL_USE_DOMAIN_NAMES if d != "test"]),
    ),
    AfterValidator(account_address),
]
