"""Request and response bodies of the shop. Money travels as decimal strings ("12.50") in the
product's currency, as event tiers' prices do."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema, field_validator
from pydantic.json_schema import SkipJsonSchema

from admitone.core.bodies import StrictBody
from admitone.core.money import Money
from admitone.core.tax_schemas import TaxRateIn, TaxRateOut
from admitone.core.text import NO_NUL, SINGLE_LINE, SINGLE_LINE_PATTERN
from admitone.shop.models import StockReason, StockTracking

MAX_OPTIONS = 5
MAX_OPTION_VALUES = 30
MAX_LINE_QUANTITY = 1000
MAX_STOCK = 10_000_000
# Combinations stocked when a product is made (more with stock adjustments): a list one past
# it still fits in a request body, so it is refused as a 422 naming the field, not a 413.
MAX_STOCKED_COMBINATIONS = 200
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SINGLE_LINE
]
ProductName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=SLUG_PATTERN)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000), NO_NUL]
OptionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), SINGLE_LINE
]
Currency = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3), SINGLE_LINE
]
# A decimal string; an integer is taken as whole units. The service parses it exactly.
Amount = (
    Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), SINGLE_LINE
    ]
    | int
)
Position = Annotated[int, Field(ge=0, le=10_000)]
StockQuantity = Annotated[int, Field(ge=0, le=MAX_STOCK)]
LineQuantity = Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]
_OPTION_TEXT_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 50,
    "pattern": SINGLE_LINE_PATTERN,
}
# Declared by hand: pydantic would declare the key's pattern as ``patternProperties``, which
# lets a key outside it through with any value.
Choice = Annotated[
    dict[OptionText, OptionText],
    Field(max_length=MAX_OPTIONS),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_OPTIONS,
            "propertyNames": _OPTION_TEXT_SCHEMA,
            "additionalProperties": _OPTION_TEXT_SCHEMA,
        }
    ),
]
# Omitted in an update keeps the stored value; the document declares it non-nullable.
Omitted = SkipJsonSchema[None]


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null")
    return value


class CategoryCreate(StrictBody):
    name: Name
    slug: Slug | None = Field(default=None, description="Made from the name when omitted.")
    position: Position = 0
    parent_id: uuid.UUID | None = None


class CategoryUpdate(StrictBody):
    name: Name | Omitted = None
    slug: Slug | Omitted = None
    position: Position | Omitted = None
    parent_id: uuid.UUID | None = None

    _not_null = field_validator("name", "slug", "position")(_refuse_null)


class CategoryOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    name: str
    slug: str
    position: int
    parent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class CategoryPage(BaseModel):
    data: list[CategoryOut]
    next_cursor: str | None


class OptionValueIn(StrictBody):
    value: OptionText
    price_modifier: Amount = Field(
        default="0", description="Added to the price when this value is chosen (not negative)."
    )


class OptionIn(StrictBody):
    name: OptionText
    values: Annotated[list[OptionValueIn], Field(min_length=1, max_length=MAX_OPTION_VALUES)]


class StockEntryIn(StrictBody):
    options: Choice
    quantity: StockQuantity


STOCK_DESCRIPTION = (
    "unlimited: never runs out; product: one count, `stock`; options: one count per "
    "combination of option values, `stock_by_options` (combinations left out have none)."
)


PRODUCT_TAX_DESCRIPTION = (
    "The product's tax rate; null: the default_tax_rate of the event it is sold with applies."
)


class ProductCreate(StrictBody):
    name: ProductName
    description: Description = ""
    price: Amount = Field(description="More than zero, in the product's currency.")
    currency: Currency | None = Field(
        default=None, description="The event's currency by default, else USD."
    )
    category_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = Field(default=None, description="An event of the organizer.")
    options: Annotated[list[OptionIn], Field(max_length=MAX_OPTIONS)] = []
    stock_tracking: StockTracking = Field(
        default=StockTracking.UNLIMITED, description=STOCK_DESCRIPTION
    )
    stock: StockQuantity | None = None
    stock_by_options: (
        Annotated[list[StockEntryIn], Field(max_length=MAX_STOCKED_COMBINATIONS)] | None
    ) = None
    is_available: bool = True
    tax_rate: TaxRateIn | None = Field(default=None, description=PRODUCT_TAX_DESCRIPTION)


class ProductUpdate(StrictBody):
    name: ProductName | Omitted = None
    description: Description | Omitted = None
    price: Amount | Omitted = None
    category_id: uuid.UUID | None = None
    options: Annotated[list[OptionIn], Field(max_length=MAX_OPTIONS)] | Omitted = None
    is_available: bool | Omitted = None
    tax_rate: TaxRateIn | None = Field(default=None, description=PRODUCT_TAX_DESCRIPTION)

    _not_null = field_validator("name", "description", "price", "options", "is_available")(
        _refuse_null
    )


class OptionValueOut(BaseModel):
    value: str
    price_modifier: str


class OptionOut(BaseModel):
    name: str
    values: list[OptionValueOut]


class StockEntryOut(BaseModel):
    options: dict[str, str]
    quantity: int


class ProductOut(BaseModel):
    id: uuid.UUID
    organizer_id: uuid.UUID
    event_id: uuid.UUID | None
    category_id: uuid.UUID | None
    name: str
    description: str
    price: str
    currency: str
    options: list[OptionOut]
    stock_tracking: StockTracking
    stock: int | None = Field(description="With stock_tracking product: what is left.")
    stock_by_options: list[StockEntryOut] = Field(
        description="With stock_tracking options: what is left of each stocked combination."
    )
    is_available: bool
    tax_rate: TaxRateOut | None = Field(description=PRODUCT_TAX_DESCRIPTION)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def options_out(cls, options: list[dict[str, Any]], currency: str) -> list[OptionOut]:
        return [
            OptionOut(
                name=option["name"],
                values=[
                    OptionValueOut(
                        value=v["value"],
                        price_modifier=Money(
                            int(v.get("price_modifier", 0)), currency
                        ).to_decimal_string(),
                    )
                    for v in option["values"]
                ],
            )
            for option in options
        ]


class ProductPage(BaseModel):
    data: list[ProductOut]
    next_cursor: str | None


ManualReason = Literal[StockReason.RESTOCK, StockReason.CORRECTION, StockReason.REFUND]


class StockAdjustmentIn(StrictBody):
    change: Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK, description="Not zero.")]
    reason: ManualReason
    options: Choice = Field(
        default_factory=dict, description="The combination, with stock_tracking options."
    )


class StockOut(BaseModel):
    product_id: uuid.UUID
    options: dict[str, str]
    change: int
    quantity: int
    reason: StockReason


class CartItemIn(StrictBody):
    tier_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    quantity: LineQuantity
    options: Choice = Field(default_factory=dict)


class CartItemUpdate(StrictBody):
    quantity: LineQuantity


class CartItemOut(BaseModel):
    id: uuid.UUID
    kind: Literal["tier", "product"]
    tier_id: uuid.UUID | None
    product_id: uuid.UUID | None
    event_id: uuid.UUID | None
    name: str
    options: dict[str, str]
    quantity: int
    unit_price: str
    line_total: str
    available: bool = Field(
        description="False once the product or the tier's event is no longer for sale."
    )


class CartOut(BaseModel):
    id: uuid.UUID
    status: str
    organizer_id: uuid.UUID | None
    currency: str | None
    items: list[CartItemOut]
    total: str | None = Field(description="The lines' total at today's prices.")
    token: str | None = Field(
        default=None,
        description="A guest's cart token, answered once: send it as X-Cart-Token.",
    )
    created_at: datetime
    updated_at: datetime
