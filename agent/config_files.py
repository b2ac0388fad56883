"""The ``[files]`` table: orders from CSV or XML files, and ``[files.mappings.NAME]``, which says where
each order field is found in one kind of file (a column name in a CSV, an XPath in an XML file)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileColumns(_Table):
    """Where each field is: a CSV column header, or an XPath relative to the XML line (or order) element.
    Empty = the file has no such field (its default applies)."""

    order_number: str = Field(description="Order number; rows with the same number are one order (required).")
    date: str = Field("", description="Order date, dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd (empty: the import day).")
    currency: str = Field("", description="Currency code (empty: files.mappings.NAME.currency).")
    name: str = Field("", description="Customer name.")
    company: str = Field("", description="Customer company (makes the order B2B with a VAT number).")
    address: str = Field("", description="Street address.")
    postcode: str = Field("", description="Postcode.")
    city: str = Field("", description="City.")
    country: str = Field("", description="Two-letter country code (empty: files.mappings.NAME.country).")
    email: str = Field("", description="Customer e-mail.")
    phone: str = Field("", description="Customer phone.")
    vat_number: str = Field("", description="Customer VAT number (B2B).")
    ean: str = Field("", description="EAN location number (public customers).")
    sku: str = Field("", description="Product number (SKU) of the line.")
    line_name: str = Field("", description="Product name of the line.")
    quantity: str = Field(description="Quantity; negative = a credit note line against the order's invoice (required).")
    unit_price: str = Field(description="Unit price, incl. or excl. VAT as prices_include_vat says (required).")
    vat_rate: str = Field(
        "", description='VAT rate of the line, "25", "25%" or "0,25" (empty: vat_class or the default).'
    )
    vat_class: str = Field("", description="VAT class of the line, looked up in vat_classes.")
    discount: str = Field("", description="Line discount in percent.")
    shipping: str = Field("", description="Shipping of the order (first non-empty value of its rows).")
    fee: str = Field("", description="A fee of the order, e.g. a payment fee (first non-empty value of its rows).")
    payment_method: str = Field("", description="Payment method id, as in [payments] (empty: payment_method).")
    total: str = Field("", description="The order's total incl. VAT as the file states it; checked to the øre.")
    credit_number: str = Field("", description="Credit-note number (credit-note files: one credit note per number).")


class FileMapping(_Table):
    format: Literal["csv", "xml"] = Field("csv", description="File format: csv or xml.")
    source: str = Field(
        description="Source name in references (<shop>/file-<source>-<number>): letters, digits, - and _."
    )
    document: Literal["invoice", "creditnote"] = Field(
        "invoice", description="invoice: orders; creditnote: every row credits the order's invoice."
    )
    delimiter: str = Field("", description='CSV delimiter; "" = detected (comma, semicolon, tab, pipe).')
    decimal: Literal["auto", ",", "."] = Field(
        "auto", description='Decimal separator: "," (1.234,50), "." (1,234.50) or "auto" (per value).'
    )
    order_path: str = Field("", description="XML: XPath of an order element (e.g. .//o:Order).")
    line_path: str = Field("", description="XML: XPath of a line element, relative to its order (e.g. o:Line).")
    namespaces: dict[str, str] = Field(default_factory=dict, description="XML: prefix → namespace URI for the paths.")
    prices_include_vat: bool = Field(True, description="Unit prices, shipping and fees include VAT.")
    currency: str = Field("DKK", description="Currency when the file has no currency field.")
    country: str = Field("DK", description="Customer country when the file has no country field.")
    default_vat_rate: Decimal = Field(Decimal(25), ge=0, description="VAT rate (percent) when a line names none.")
    shipping_vat_rate: Decimal | None = Field(
        None, ge=0, description="VAT rate of shipping and fees (left out: the order's highest line rate)."
    )
    vat_classes: dict[str, Decimal] = Field(default_factory=dict, description="VAT class name → rate in percent.")
    payment_method: str = Field("", description="Payment method id when the file has none (e.g. bacs).")
    paid: bool = Field(True, description="The orders are paid (their payment is registered as [payments] says).")
    columns: FileColumns = Field(description="Where each field is found.")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
            raise ValueError("use 1-40 letters, digits, - or _ (it becomes part of every reference)")
        return value

    @model_validator(mode="after")
    def _xml_paths(self) -> FileMapping:
        if self.format == "xml" and not (self.order_path and self.line_path):
            raise ValueError("an xml mapping needs order_path and line_path")
        return self


class FilesConfig(_Table):
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest file accepted (CLI and upload form).")
    default_mapping: str = Field("", description="Mapping used when none is named (empty: the only one).")
    mappings: dict[str, FileMapping] = Field(
        default_factory=dict, description="One [files.mappings.NAME] table per kind of file."
    )

    def mapping(self, name: str | None) -> tuple[str, FileMapping]:
        """The named mapping (or the default); ValueError says which names exist."""
        name = name or self.default_mapping or (next(iter(self.mappings)) if len(self.mappings) == 1 else "")
        if name not in self.mappings:
            known = ", ".join(sorted(self.mappings)) or "none configured"
            raise ValueError(f"no file mapping {name!r} (known: {known}); add [files.mappings.{name or 'NAME'}]")
        return name, self.mappings[name]
