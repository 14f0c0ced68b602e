"""Whom an invoice is made out to, as a request body states it: billing's profiles and
invoice requests, and the purchase's ``invoice`` (ticketing cannot import billing, so the
shape and its checks live here, once)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from admitone.core import vat
from admitone.core.bodies import StrictBody

# One line of text: no control characters, not only spaces.
_LINE = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_LINE)
]
City = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_LINE)
]
Postcode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=_LINE)
]
# The document states the rules the validators below apply (a contract test holds it to that).
Country = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2),
    Field(
        description="ISO 3166-1 alpha-2, e.g. DE.",
        examples=["DE"],
        json_schema_extra={"enum": sorted(vat.COUNTRIES)},
    ),
]
VatId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=4, max_length=30),
    Field(
        description=(
            "With its country prefix (EL for Greece, CHE for Switzerland), in the format that "
            "country uses; spaces, dots and dashes are dropped."
        ),
        examples=["DE123456789"],
        json_schema_extra={"pattern": vat.VAT_PATTERN},
    ),
]


class BillingDetails(StrictBody):
    """Whom an invoice is made out to: a name or a company (or both) and an address."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["name"]}, {"required": ["company"]}]}
    )

    name: Name | SkipJsonSchema[None] = None
    company: Name | SkipJsonSchema[None] = None
    address_line1: Name
    address_line2: Name | None = None
    city: City
    postcode: Postcode
    country: Country
    vat_id: VatId | None = None

    @field_validator("name", "company")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Runs only on values that were sent: the document says a string, so null is refused.
        if value is None:
            raise ValueError("may not be null; leave the field out instead")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return vat.country_code(value)

    @field_validator("vat_id")
    @classmethod
    def _vat_id(cls, value: str | None) -> str | None:
        return None if value is None else vat.vat_id(value)

    @model_validator(mode="after")
    def _name_or_company(self) -> BillingDetails:
        if self.name is None and self.company is None:
            raise ValueError("give a name or a company")
        return self
