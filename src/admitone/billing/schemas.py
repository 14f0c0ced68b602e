"""Request and response bodies of billing; every limit is declared here, so the OpenAPI
document states it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from admitone.billing.models import (
    BillingProfile,
    BillingSettings,
    DocumentKind,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    InvoiceMode,
)
from admitone.billing.transactions import Transaction, TransactionKind
from admitone.core.billing_details import BillingDetails, City, Country, Name, Postcode, VatId
from admitone.core.bodies import StrictBody
from admitone.core.money import Money
from admitone.core.tax import RateTotal, totals_per_rate
from admitone.core.tax_schemas import RateTotalOut
from admitone.ledger.service import PayoutRow

Prefix = Annotated[str, StringConstraints(min_length=1, max_length=10, pattern=r"^[A-Z]{1,10}$")]


class ProfileCreate(BillingDetails):
    is_default: StrictBool = Field(
        default=False, description="Make it the default; a user's first profile always is."
    )


class ProfileUpdate(StrictBody):
    """The fields to change; ``null`` clears an optional one. The result is checked whole."""

    name: Name | None = None
    company: Name | None = None
    address_line1: Name | None = None
    address_line2: Name | None = None
    city: City | None = None
    postcode: Postcode | None = None
    country: Country | None = None
    vat_id: VatId | None = None
    is_default: StrictBool | None = Field(default=None, description="true makes it the default.")


class ProfileOut(BaseModel):
    id: uuid.UUID
    name: str | None
    company: str | None
    address_line1: str
    address_line2: str | None
    city: str
    postcode: str
    country: str
    vat_id: str | None
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, profile: BillingProfile) -> ProfileOut:
        return cls(
            id=profile.id,
            name=profile.name,
            company=profile.company,
            address_line1=profile.address_line1,
            address_line2=profile.address_line2,
            city=profile.city,
            postcode=profile.postcode,
            country=profile.country,
            vat_id=profile.vat_id,
            is_default=profile.is_default,
            created_at=profile.created_at,
            updated_at=profile.updated_at,
        )


class ProfileList(BaseModel):
    data: list[ProfileOut]


class SettingsUpdate(StrictBody):
    invoice_mode: InvoiceMode | None = Field(
        default=None,
        description="automatic: every paid order gets an invoice; on_request: when the buyer asks.",
    )
    invoice_prefix: Prefix | None = None
    credit_note_prefix: Prefix | None = None


class SettingsOut(BaseModel):
    invoice_mode: InvoiceMode
    invoice_prefix: str
    credit_note_prefix: str

    @classmethod
    def of(cls, settings: BillingSettings) -> SettingsOut:
        return cls(
            invoice_mode=InvoiceMode(settings.invoice_mode),
            invoice_prefix=settings.invoice_prefix,
            credit_note_prefix=settings.credit_note_prefix,
        )


class InvoiceRequest(StrictBody):
    """Whom to make the invoice out to: one of your billing profiles, details given here (a
    guest's way), or, with neither, your default profile or else the order's name."""

    model_config = ConfigDict(json_schema_extra={"maxProperties": 1})

    billing_profile_id: uuid.UUID | None = None
    billing: BillingDetails | None = None

    @model_validator(mode="after")
    def _one_source(self) -> InvoiceRequest:
        if self.billing_profile_id is not None and self.billing is not None:
            raise ValueError("give billing_profile_id or billing, not both")
        return self


class BillTo(BaseModel):
    name: str | None
    company: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    postcode: str | None
    country: str | None
    vat_id: str | None


class LineOut(BaseModel):
    position: int
    description: str
    quantity: int
    unit_net: str
    net: str
    tax_rate_percent: str
    tax_name: str | None
    tax: str
    gross: str

    @classmethod
    def of(cls, line: InvoiceLine, currency: str) -> LineOut:
        def money(amount: int) -> str:
            return Money(amount, currency).to_decimal_string()

        return cls(
            position=line.position,
            description=line.description,
            quantity=line.quantity,
            unit_net=money(line.unit_net),
            net=money(line.net),
            tax_rate_percent=f"{line.tax_rate_bp / 100:.2f}",
            tax_name=line.tax_name,
            tax=money(line.tax),
            gross=money(line.gross),
        )


class InvoiceOut(BaseModel):
    id: uuid.UUID
    kind: DocumentKind
    number: str
    status: DocumentStatus
    order_id: uuid.UUID
    event_id: uuid.UUID
    organizer_id: uuid.UUID | None
    buyer_user_id: uuid.UUID | None
    credits_invoice_id: uuid.UUID | None = Field(
        description="The invoice a credit note credits: all of what it still held (a cancel or "
        "full refund, which voids it), or the part a partial refund gave back."
    )
    currency: str
    net_total: str
    tax_total: str
    gross_total: str
    taxes: list[RateTotalOut] = Field(description="Net, tax and gross per tax rate.")
    seller_name: str
    bill_to: BillTo
    lines: list[LineOut]
    issued_at: datetime
    voided_at: datetime | None

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        def money(amount: int) -> str:
            return Money(amount, invoice.currency).to_decimal_string()

        return cls(
            id=invoice.id,
            kind=DocumentKind(invoice.kind),
            number=invoice.number,
            status=DocumentStatus(invoice.status),
            order_id=invoice.order_id,
            event_id=invoice.event_id,
            organizer_id=invoice.organizer_id,
            buyer_user_id=invoice.buyer_user_id,
            credits_invoice_id=invoice.credits_invoice_id,
            currency=invoice.currency,
            net_total=money(invoice.net_total),
            tax_total=money(invoice.tax_total),
            gross_total=money(invoice.gross_total),
            taxes=[RateTotalOut.of(total, invoice.currency) for total in rate_totals(invoice)],
            seller_name=invoice.seller_name,
            bill_to=BillTo(
                name=invoice.bill_to_name,
                company=invoice.bill_to_company,
                address_line1=invoice.bill_to_address_line1,
                address_line2=invoice.bill_to_address_line2,
                city=invoice.bill_to_city,
                postcode=invoice.bill_to_postcode,
                country=invoice.bill_to_country,
                vat_id=invoice.bill_to_vat_id,
            ),
            lines=[LineOut.of(line, invoice.currency) for line in invoice.lines],
            issued_at=invoice.issued_at,
            voided_at=invoice.voided_at,
        )


class InvoicePage(BaseModel):
    data: list[InvoiceOut]
    next_cursor: str | None


# A user's transactions and an organizer's payouts


class TransactionReferences(BaseModel):
    order_id: uuid.UUID | None
    invoice_number: str | None = Field(
        description="The order's invoice (a credit note's own number for a credit note)."
    )
    subscription_id: str | None


class TransactionOut(BaseModel):
    id: uuid.UUID = Field(description="The ledger entry's id, or the credit note's.")
    kind: TransactionKind
    amount: str = Field(
        description="Signed from your side: negative what you paid, positive what came back."
    )
    currency: str
    occurred_at: datetime
    references: TransactionReferences

    @classmethod
    def of(cls, item: Transaction) -> TransactionOut:
        return cls(
            id=item.id,
            kind=item.kind,
            amount=Money(item.amount, item.currency).to_decimal_string(),
            currency=item.currency,
            occurred_at=item.occurred_at,
            references=TransactionReferences.model_validate(item.references),
        )


class TransactionPage(BaseModel):
    data: list[TransactionOut]
    next_cursor: str | None


class PayoutOut(BaseModel):
    organizer_id: uuid.UUID
    event_id: uuid.UUID
    month: str = Field(description="YYYY-MM, the UTC month the money moved in.")
    currency: str
    gross: str = Field(description="What buyers paid, tax included.")
    fees: str = Field(description="What the payment gateway kept.")
    refunds: str = Field(description="What went back to buyers, tax included.")
    tax: str = Field(description="Tax owed on what was kept.")
    net: str = Field(description="gross - fees - refunds - tax.")

    @classmethod
    def of(cls, row: PayoutRow) -> PayoutOut:
        def money(amount: int) -> str:
            return Money(amount, row.currency).to_decimal_string()

        return cls(
            organizer_id=row.organizer_id,
            event_id=row.event_id,
            month=row.month,
            currency=row.currency,
            gross=money(row.gross),
            fees=money(row.fees),
            refunds=money(row.refunds),
            tax=money(row.tax),
            net=money(row.net),
        )


class PayoutList(BaseModel):
    data: list[PayoutOut]
    from_month: str = Field(description="YYYY-MM, the window's first month.")
    to_month: str = Field(description="YYYY-MM, the window's last month (included).")


def rate_totals(invoice: Invoice) -> list[RateTotal]:
    """The invoice's lines added up per tax rate (its lines were rounded one by one)."""
    return totals_per_rate(
        (line.tax_name, line.tax_rate_bp, None, line.net, line.tax, line.gross)
        for line in invoice.lines
    )
