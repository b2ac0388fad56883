"""Typed rows and inputs. Field names are Dynaccount's column names (spec §3.1), so a row maps
1:1 to a model and an input model's ``form()`` is exactly the form that is sent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .signing import FormValue


def parse_flag(value: Any) -> bool:
    """A-32: booleans may come back as YES/NO, 1/0 or true/false."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "1", "true", "y"):
        return True
    if text in ("no", "0", "false", "n", "", "none"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_money(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def parse_time(value: Any) -> int | None:
    """A-17: Unix timestamps; also ISO dates and DD-MM-YYYY."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    for fmt in ("%d-%m-%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
        try:
            parsed = dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return int(parsed.timestamp())
    raise ValueError(f"not a date: {value!r}")


def parse_opt_int(value: Any) -> int | None:
    if value is None or value == "" or value == 0 or value == "0":
        return None
    return int(value)


Money = Annotated[Decimal, BeforeValidator(parse_money)]
Flag = Annotated[bool, BeforeValidator(parse_flag)]
Timestamp = Annotated[int | None, BeforeValidator(parse_time)]
OptInt = Annotated[int | None, BeforeValidator(parse_opt_int)]
Text = Annotated[str, BeforeValidator(lambda v: "" if v is None else str(v))]


class Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    id: int


class Fields(BaseModel):
    """Input model: ``form()`` renders the set fields in declaration order."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    def form(self) -> dict[str, FormValue]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class VatCode(Row):
    name: str
    rate: Money = Decimal(0)
    type: Text = ""


class PaymentTerms(Row):
    name: str
    days: int = 0


class DebtorGroup(Row):
    name: Text = ""
    payment_name: Text = ""
    vatcode_name: Text = ""
    ref_currency_name: Text = ""
    payment_method: Text = ""
    bank_name: Text = ""
    lang: Text = ""


class DebtorFields(Fields):
    module_id_: str
    name: str
    module_group_name: str | None = None
    vatcode_name: str | None = None
    payment_name: str | None = None
    payment_method: str | None = None
    attention_name: str | None = None
    address: str | None = None
    zip: str | None = None
    city: str | None = None
    ref_country_name: str | None = None
    phone: str | None = None
    email: str | None = None
    email_invoice: str | None = None
    vatno: str | None = None
    ean: str | None = None
    lang: str | None = None
    ref_currency_name: str | None = None
    dlv_name: str | None = None
    dlv_address: str | None = None
    dlv_zip: str | None = None
    dlv_city: str | None = None
    dlv_ref_country_name: str | None = None


class Debtor(Row):
    module_id_: Text
    name: Text = ""
    module_group_name: Text = ""
    vatcode_name: Text = ""
    payment_name: Text = ""
    ref_country_name: Text = ""
    ref_currency_name: Text = ""
    email: Text = ""
    vatno: Text = ""
    ean: Text = ""


class ProductFields(Fields):
    """A-25: writable product columns."""

    product_id_: str
    name: str
    price: Decimal | None = None
    product_group_name: str | None = None
    unit_name: str | None = None
    weight: Decimal | None = None
    txt: str | None = None


class Product(Row):
    product_id_: Text
    name: Text = ""
    price: Money = Decimal(0)
    product_group_name: Text = ""
    unit_name: Text = ""
    txt: Text = ""
    in_stock: Money = Decimal(0)
    in_order: Money = Decimal(0)
    time_stock_change: Timestamp = None
    is_stocked: Flag = False


class StockLevel(BaseModel):
    """One product's stock as Dynaccount reports it (A-28, A-35)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    id: int
    product_id_: Text
    in_stock: Money = Decimal(0)
    in_order: Money = Decimal(0)
    time_stock_change: Timestamp = None
    is_stocked: Flag = False


class InvoiceHeader(Fields):
    """A-22: the writable invoice header (the reference is added by the client)."""

    module_id_: str
    time: int
    currency_name: str | None = None
    payment_name: str | None = None
    payment_method: str | None = None
    lang: str | None = None
    attention: str | None = None
    address: str | None = None
    zip: str | None = None
    city: str | None = None
    ref_country_name: str | None = None
    dlv_attention: str | None = None
    dlv_name: str | None = None
    dlv_address: str | None = None
    dlv_zip: str | None = None
    dlv_city: str | None = None
    dlv_ref_country_name: str | None = None
    time_delivery: int | None = None
    dimension_name: str | None = None
    txt: str | None = None


class LineIn(BaseModel):
    """An invoice line to create (A-23). Price is ex VAT per unit."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    product_id_: str
    name: str
    qty: Decimal
    price: Decimal
    vatcode_name: str
    discount_percent: Decimal | None = None
    txt: str | None = None


class InvoiceLine(Row):
    product_id_: Text
    name: Text = ""
    qty: Money
    price: Money
    vatcode_name: Text = ""
    discount_type: Text = ""
    discount_value: Money = Decimal(0)
    vat_amount: Money = Decimal(0)
    total_amount: Money = Decimal(0)
    qty_credited: Money = Decimal(0)


class Invoice(Row):
    invoice_id_: OptInt = None
    module_id_: Text = ""
    requisition: Text = ""
    is_booked: Flag = False
    is_matched: Flag = False
    time: Timestamp = None
    time_due: Timestamp = None
    currency_name: Text = ""
    payment_name: Text = ""
    txt: Text = ""
    vat_amount: Money = Decimal(0)
    total_amount: Money = Decimal(0)
    lines: list[InvoiceLine] = Field(default_factory=list)

    @property
    def number(self) -> int | None:
        """The invoice number, assigned on booking (A-29)."""
        return self.invoice_id_

    @property
    def net_amount(self) -> Decimal:
        return self.total_amount - self.vat_amount


class CreditLineIn(BaseModel):
    """A-24: credit part of an invoice line (``invoice_product_id`` + ``qty``; price, product and
    VAT code default to the invoice line's) or a free credit line (product, qty, price, VAT code)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    qty: Decimal
    invoice_product_id: int | None = None
    product_id_: str | None = None
    price: Decimal | None = None
    vatcode_name: str | None = None
    name: str | None = None
    discount_percent: Decimal | None = None


class CreditNoteLine(Row):
    invoice_product_id: OptInt = None
    product_id_: Text = ""
    name: Text = ""
    qty: Money
    price: Money
    vatcode_name: Text = ""
    vat_amount: Money = Decimal(0)
    total_amount: Money = Decimal(0)


class CreditNote(Row):
    invoice_id: int
    invoice_id_: OptInt = None
    credit_invoice_id_: OptInt = None
    requisition: Text = ""
    note: Text = ""
    is_booked: Flag = False
    time: Timestamp = None
    vat_amount: Money = Decimal(0)
    total_amount: Money = Decimal(0)
    lines: list[CreditNoteLine] = Field(default_factory=list)

    @property
    def number(self) -> int | None:
        return self.invoice_id_


class Payment(BaseModel):
    """A registered payment voucher (A-27)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    enclosure_id: int
    reference: str
    amount: Decimal
    invoice_number: int | None
    debtor_number: str
    time: int | None
    complete: bool
