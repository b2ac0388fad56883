"""Pydantic models for the WooCommerce REST v3 fields the agent uses.

Money arrives as JSON strings (``"39.20"``) and a few float-like numbers (``price``,
``rate_percent``); every amount is a ``Decimal``. Parse raw JSON with :func:`loads` so
floats never pass through binary floating point. Unknown fields are ignored.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ZERO = Decimal("0")


# One decoder for every body: ``json.loads(raw, parse_float=Decimal)`` builds a decoder and its scanner
# on every call, a measurable share of a webhook request (issue 17).
_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(raw: bytes | str) -> Any:
    """``json.loads`` with Decimal for every non-integer number, with its checks (encoding, BOM)."""
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    elif raw.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
    return _DECODER.decode(raw)


def _money(value: Any) -> Any:
    # WooCommerce sends "" for some unset amounts (e.g. shipping taxes[].subtotal).
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class MetaData(_Model):
    id: int | None = None
    key: str
    value: Any = None


class Address(_Model):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip()


class ItemTax(_Model):
    id: int
    total: Decimal = ZERO
    subtotal: Decimal = ZERO

    _coerce = field_validator("total", "subtotal", mode="before")(_money)


class LineItem(_Model):
    id: int
    name: str = ""
    product_id: int = 0
    variation_id: int = 0
    quantity: Decimal = ZERO
    tax_class: str = ""
    subtotal: Decimal = ZERO
    subtotal_tax: Decimal = ZERO
    total: Decimal = ZERO
    total_tax: Decimal = ZERO
    taxes: list[ItemTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)
    sku: str | None = None
    price: Decimal = ZERO
    parent_name: str | None = None

    _coerce = field_validator("subtotal", "subtotal_tax", "total", "total_tax", "price", mode="before")(_money)


class TaxLine(_Model):
    id: int
    rate_code: str = ""
    rate_id: int
    label: str = ""
    compound: bool = False
    tax_total: Decimal = ZERO
    shipping_tax_total: Decimal = ZERO
    rate_percent: Decimal = ZERO

    _coerce = field_validator("tax_total", "shipping_tax_total", "rate_percent", mode="before")(_money)

    @property
    def country(self) -> str:
        """Country part of ``rate_code`` (``DE-MWST.-1`` -> ``DE``); empty if none."""
        head = self.rate_code.split("-", 1)[0]
        return head if len(head) == 2 and head.isalpha() else ""


class ShippingLine(_Model):
    id: int
    method_title: str = ""
    method_id: str = ""
    total: Decimal = ZERO
    total_tax: Decimal = ZERO
    taxes: list[ItemTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)

    _coerce = field_validator("total", "total_tax", mode="before")(_money)


class FeeLine(_Model):
    id: int
    name: str = ""
    tax_class: str = ""
    tax_status: str = "taxable"
    total: Decimal = ZERO
    total_tax: Decimal = ZERO
    taxes: list[ItemTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)

    _coerce = field_validator("total", "total_tax", mode="before")(_money)


class CouponLine(_Model):
    id: int
    code: str = ""
    discount: Decimal = ZERO
    discount_tax: Decimal = ZERO
    discount_type: str | None = None
    nominal_amount: Decimal | None = None

    _coerce = field_validator("discount", "discount_tax", mode="before")(_money)


class RefundRef(_Model):
    id: int
    reason: str = ""
    total: Decimal = ZERO

    _coerce = field_validator("total", mode="before")(_money)


def _meta_value(meta: list[MetaData], key: str) -> Any:
    for item in meta:
        if item.key == key:
            return item.value
    return None


class Order(_Model):
    id: int
    parent_id: int = 0
    number: str = ""
    status: str
    currency: str = "DKK"
    prices_include_tax: bool = True
    date_created: str | None = None
    date_modified: str | None = None
    date_created_gmt: str | None = None
    date_modified_gmt: str | None = None
    date_paid_gmt: str | None = None
    date_completed_gmt: str | None = None
    discount_total: Decimal = ZERO
    discount_tax: Decimal = ZERO
    shipping_total: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    cart_tax: Decimal = ZERO
    total: Decimal = ZERO
    total_tax: Decimal = ZERO
    customer_id: int = 0
    billing: Address = Field(default_factory=Address)
    shipping: Address = Field(default_factory=Address)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    created_via: str = ""
    customer_note: str = ""
    meta_data: list[MetaData] = Field(default_factory=list)
    line_items: list[LineItem] = Field(default_factory=list)
    tax_lines: list[TaxLine] = Field(default_factory=list)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    fee_lines: list[FeeLine] = Field(default_factory=list)
    coupon_lines: list[CouponLine] = Field(default_factory=list)
    refunds: list[RefundRef] = Field(default_factory=list)

    _coerce = field_validator(
        "discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax",
        "total", "total_tax", mode="before",
    )(_money)

    def meta(self, key: str) -> Any:
        return _meta_value(self.meta_data, key)

    @property
    def is_renewal(self) -> bool:
        return self.meta("_subscription_renewal") is not None


class Refund(_Model):
    id: int
    parent_id: int | None = None
    date_created: str | None = None
    date_created_gmt: str | None = None
    amount: Decimal = ZERO
    reason: str = ""
    refunded_payment: bool = False
    meta_data: list[MetaData] = Field(default_factory=list)
    line_items: list[LineItem] = Field(default_factory=list)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    tax_lines: list[TaxLine] = Field(default_factory=list)
    fee_lines: list[FeeLine] = Field(default_factory=list)

    _coerce = field_validator("amount", mode="before")(_money)

    def refunded_item_id(self, item: LineItem | ShippingLine | FeeLine) -> int | None:
        value = _meta_value(item.meta_data, "_refunded_item_id")
        return int(value) if value not in (None, "") else None
