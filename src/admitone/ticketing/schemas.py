"""Request and response bodies. The ``{"order": {...}}`` envelope is the contract; multi-tier
``items`` fit in the same envelope. Money travels as decimal strings ("50.00")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from admitone.core.billing_details import BillingDetails
from admitone.core.bodies import StrictBody
from admitone.core.emails import DeliverableEmail
from admitone.core.money import Money
from admitone.core.tax import TaxRate, totals_per_rate
from admitone.core.tax_schemas import RateTotalOut, TaxRateOut
from admitone.core.text import NO_NUL, SINGLE_LINE
from admitone.ticketing.models import CancelReason, Order, OrderLine, TicketStatus

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    SINGLE_LINE,
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    SINGLE_LINE,
]
PaymentMethod = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    SINGLE_LINE,
]
CouponCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$"
    ),
]
MAX_ITEMS = 20
Quantity = Annotated[int, Field(json_schema_extra={"minimum": 1})]


class PurchaseItem(StrictBody):
    tier_id: uuid.UUID
    # Range checks (1..max per order) are the service's, so every caller gets the same rule and
    # the same error code (``invalid_quantity``); the document still declares the lower bound.
    quantity: Quantity


# Stripped, as the shop stores a product's options (and as ``SINGLE_LINE``'s pattern assumes).
OptionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), SINGLE_LINE
]


class PurchaseProductItem(StrictBody):
    """A shop product of the event (or of none) bought with the tickets."""

    product_id: uuid.UUID
    quantity: Quantity
    # A name the pattern refuses is refused, whatever its value: the document says so too.
    options: dict[OptionText, OptionText] = Field(
        default_factory=dict, max_length=10, json_schema_extra={"additionalProperties": False}
    )


def _one_of_two_never_null(schema: dict[str, Any]) -> None:
    """The document says what the validators below hold: exactly one of the two, neither null."""
    for prop in schema["properties"].values():
        prop.pop("default", None)
        options = prop.pop("anyOf", [])
        prop.update(next((o for o in options if o.get("type") != "null"), {}))
    schema["oneOf"] = [{"required": ["billing"]}, {"required": ["billing_profile_id"]}]


class PurchaseInvoice(StrictBody):
    """An invoice asked at checkout, issued once the order is paid: made out to these details
    (a guest's way) or to one of the signed-in buyer's billing profiles."""

    model_config = ConfigDict(json_schema_extra=_one_of_two_never_null)

    # Optional rather than ``| SkipJsonSchema[None]``: a union would name a bad field inside
    # ``billing`` by its union member; the document drops the null (see above).
    billing_profile_id: uuid.UUID | None = None
    billing: BillingDetails | None = None

    @field_validator("billing_profile_id", "billing")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only on values that were sent: the document says an object or a uuid.
        if value is None:
            raise ValueError("may not be null; leave the field out instead")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PurchaseInvoice:
        if (self.billing_profile_id is None) == (self.billing is None):
            raise ValueError("give billing_profile_id or billing, one of them")
        return self

    def as_sold(self) -> dict[str, object]:
        """What the order keeps: the details as given, or the profile to read at issue time."""
        if self.billing is not None:
            return {"billing": self.billing.model_dump()}
        return {"billing_profile_id": str(self.billing_profile_id)}


INVOICE_DESCRIPTION = (
    "Ask for an invoice now: it is issued, and emailed, once the order is paid, whatever the "
    "organizer's invoice mode."
)


class PurchaseOrder(StrictBody):
    # Exactly one of quantity and items, declared as JSON Schema can say it.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["quantity"], "properties": {"quantity": {"type": "integer"}}},
                {"required": ["items"], "properties": {"items": {"type": "array"}}},
            ]
        },
    )

    customer_email: DeliverableEmail | None = None
    customer_name: Name | None = None
    quantity: Quantity | None = None
    items: list[PurchaseItem] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    idempotency_key: IdempotencyKey | None = None
    payment_method: PaymentMethod | None = None
    coupon_code: CouponCode | None = Field(
        default=None, description="A coupon of the event's organizer; case does not matter."
    )
    products: list[PurchaseProductItem] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description="Shop products sold with the tickets, each with a choice of its options.",
    )
    invoice: PurchaseInvoice | None = Field(default=None, description=INVOICE_DESCRIPTION)

    @model_validator(mode="after")
    def _quantity_or_items(self) -> PurchaseOrder:
        if (self.quantity is None) == (self.items is None):
            raise ValueError("give either quantity (the default tier) or items, not both")
        return self


class PurchaseBody(StrictBody):
    order: PurchaseOrder


class CheckoutOrder(StrictBody):
    """The buyer of a cart; signed in, the account's email and name are the defaults."""

    customer_email: DeliverableEmail | None = None
    customer_name: Name | None = None
    coupon_code: CouponCode | None = None
    idempotency_key: IdempotencyKey | None = None
    payment_method: PaymentMethod | None = None
    invoice: PurchaseInvoice | None = Field(default=None, description=INVOICE_DESCRIPTION)


class CheckoutBody(StrictBody):
    order: CheckoutOrder = Field(default_factory=CheckoutOrder)


class PayBody(StrictBody):
    payment_method: PaymentMethod


class CancelBody(StrictBody):
    reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NO_NUL] | None
    ) = Field(default=None, description="A free-text note, kept with the order.")
    reason_code: CancelReason | None = Field(
        default=None,
        description=(
            "Why the order is cancelled. Required from an organizer or staff cancelling someone "
            "else's order, or a paid order past its event's refund window; recorded in the "
            "activity log."
        ),
    )


class OrderLineOut(BaseModel):
    kind: Literal["ticket", "product"]
    # A ticket line names its tier, a product line its product and the options chosen.
    tier_id: uuid.UUID | None = None
    tier_name: str | None = None
    product_id: uuid.UUID | None = None
    product_name: str | None = None
    options: dict[str, str] | None = None
    quantity: int
    unit_price: str = Field(description="As sold, with the chosen options' price modifiers.")
    discount: str = Field(description="This line's share of the order's coupon discount.")
    tax_rate: TaxRateOut | None = Field(description="The rate as sold; null: no tax.")
    net: str = Field(description="The line after its discount, without tax.")
    tax: str
    gross: str = Field(description="net + tax: what the line costs the buyer.")

    @classmethod
    def of(cls, line: OrderLine, currency: str) -> Self:
        def money(amount: int) -> str:
            return Money(amount, currency).to_decimal_string()

        common: dict[str, Any] = {
            "quantity": line.quantity,
            "unit_price": money(line.unit_price),
            "discount": money(line.discount_amount),
            "tax_rate": TaxRateOut.of(
                TaxRate(line.tax_name, line.tax_rate_bp, line.tax_inclusive)
                if line.tax_name is not None
                else None
            ),
            "net": money(line.net),
            "tax": money(line.tax),
            "gross": money(line.gross),
        }
        if line.tier_id is not None:
            return cls(kind="ticket", tier_id=line.tier_id, tier_name=line.tier_name, **common)
        return cls(
            kind="product",
            product_id=line.product_id,
            product_name=line.product_name,
            options=line.options or {},
            **common,
        )


class TicketOut(BaseModel):
    id: uuid.UUID
    code: str
    tier_id: uuid.UUID
    status: TicketStatus


class OrderOut(BaseModel):
    id: uuid.UUID
    reference: str
    event_id: uuid.UUID
    status: str
    quantity: int
    total: str = Field(description="What the buyer pays: the lines' gross, exclusive tax included.")
    net: str = Field(description="The lines' net: the total without tax.")
    tax: str = Field(description="The lines' tax.")
    taxes: list[RateTotalOut] = Field(description="Net, tax and gross per tax rate.")
    # A coupon's discount: ``total`` is the lines' total less this (the lines keep their prices).
    discount: str
    coupon_id: uuid.UUID | None
    # What of the payment went back to the buyer: partial refunds leave the order paid.
    refunded: str
    currency: str
    customer_email: str
    customer_name: str
    items: list[OrderLineOut]
    tickets: list[TicketOut]
    expires_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order, *, with_tickets: bool = True) -> Self:
        def money(amount: int) -> str:
            return Money(amount, order.currency).to_decimal_string()

        return cls(
            id=order.id,
            reference=order.reference,
            event_id=order.event_id,
            status=order.status,
            quantity=order.quantity,
            total=money(order.total_amount),
            net=money(order.net_total),
            tax=money(order.tax_total),
            taxes=[
                RateTotalOut.of(total, order.currency)
                for total in totals_per_rate(
                    (
                        ln.tax_name,
                        ln.tax_rate_bp,
                        ln.tax_inclusive if ln.tax_name else None,
                        ln.net,
                        ln.tax,
                        ln.gross,
                    )
                    for ln in order.lines
                )
            ],
            discount=money(order.discount_amount),
            coupon_id=order.coupon_id,
            refunded=money(order.refunded_amount),
            currency=order.currency,
            customer_email=order.customer_email,
            customer_name=order.customer_name,
            items=[OrderLineOut.of(line, order.currency) for line in order.lines],
            tickets=[
                TicketOut(id=t.id, code=t.code, tier_id=t.tier_id, status=TicketStatus(t.status))
                for t in (order.tickets if with_tickets else [])
            ],
            expires_at=order.expires_at,
            paid_at=order.paid_at,
            cancelled_at=order.cancelled_at,
            refunded_at=order.refunded_at,
            failure_reason=order.failure_reason,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class PaymentOut(BaseModel):
    status: str
    client_secret: str | None


class PurchaseOut(OrderOut):
    # The guest's key to this order (with its reference), shown once; the email repeats it.
    access_token: str | None = None
    # Set while a payment intent waits for the buyer (the payment-intent flow, or 3-D Secure).
    payment: PaymentOut | None = None


class OrderPage(BaseModel):
    data: list[OrderOut]
    next_cursor: str | None
