"""The sandbox's tables: writable and read-only columns (spec §4, gem ``ignore_put`` lists, and
the writable sets we assume in :mod:`.assumptions`), column types and reference checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.dynaccount import assumptions as A

TOTALS = ("vat_amount", "total_amount", "total_weight", "profit_amount")
_DECIMAL = {
    "price", "discount_value", "discount_percent", "rate", "weight", "credit_max", "amount", "in_stock",
    "in_order", "in_supplier_order", "price_cost", "profit_ratio", "qty", "qty_credited", "balance", "due",
    "currency_rate", "currency_amount", "balance_amount", *TOTALS,
}  # fmt: skip
_INT = {"id", "days", "invoice_id_", "credit_invoice_id_", "order_id_", "enc_id_"}


def column_type(name: str) -> str:
    if name in _DECIMAL:
        return "decimal"
    if name.startswith("is_"):
        return "bool"
    if name == "time" or name.startswith("time_"):
        return "time"
    if name in _INT or name.endswith("_id"):
        return "int"
    return "str"


class FieldError(ValueError):
    pass


def coerce(name: str, raw: str) -> Any:
    """Form text → stored value; ``""`` means empty (None)."""
    kind = column_type(name)
    text = raw.strip()
    if text == "":
        return None
    if kind == "decimal":
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise FieldError("must be a number with '.' as decimal point") from exc
        if not value.is_finite():
            raise FieldError("must be a finite number")
        return value
    if kind == "int":
        if not text.lstrip("-").isdigit():
            raise FieldError("must be an integer")
        return int(text)
    if kind == "bool":
        if text.upper() not in ("YES", "NO"):
            raise FieldError("must be YES or NO")
        return text.upper() == "YES"
    if kind == "time":
        return _coerce_time(text)
    return raw


def _coerce_time(text: str) -> int:
    """A-16: Unix timestamps; DD-MM-YYYY also accepted."""
    if text.isdigit():
        return int(text)
    try:
        return int(dt.datetime.strptime(text, "%d-%m-%Y").replace(tzinfo=dt.UTC).timestamp())
    except ValueError as exc:
        raise FieldError("must be a Unix timestamp or DD-MM-YYYY") from exc


def render(name: str, value: Any) -> Any:
    """Stored value → JSON: money as strings with 2 decimals, flags as YES/NO (A-32)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, Decimal):
        if name in ("qty", "qty_credited", "in_stock", "in_order", "in_supplier_order", "weight", "rate"):
            return format(value.normalize(), "f") if value else "0"
        return format(value.quantize(Decimal("0.01")), "f")
    return value


# the columns the agent's references go in hold at most this many characters.
MAX_LENGTH = {(A.INVOICE_TABLE, A.REFERENCE_COLUMN): A.REFERENCE_MAX_LENGTH,
              (A.CREDITNOTE_TABLE, A.REFERENCE_COLUMN): A.REFERENCE_MAX_LENGTH,
              ("enclosure", A.PAYMENT_REFERENCE_COLUMN): A.REFERENCE_MAX_LENGTH}  # fmt: skip


@dataclass(frozen=True)
class TableSpec:
    writable: tuple[str, ...]
    readonly: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    refs: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return ("id", *self.writable, *self.readonly)


def _t(*names: str) -> tuple[str, ...]:
    return names


DEBTOR_WRITABLE = _t(
    "module_id_", "module_group_name", "vatcode_name", "payment_name", "discount_percent", "payment_method",
    "bank_name", "name", "attention_name", "attention_position", "attention_phone", "attention_email", "address",
    "zip", "city", "ref_country_name", "phone", "email", "email_invoice", "email_statement", "vatno", "ean",
    "ean_contact", "lang", "ref_currency_name", "dlv_attention", "dlv_name", "dlv_address", "dlv_zip", "dlv_city",
    "dlv_ref_country_name", "dlv_phone", "dlv_email", "note", "credit_max", "invoicing_module_id_",
    "invoicing_module_attention",
)  # fmt: skip

SCHEMA: dict[str, TableSpec] = {
    "vatcode": TableSpec(_t("name", A.VATCODE_RATE_COLUMN, "type", "txt"), required=("name",), unique=("name",)),
    "payment": TableSpec(_t("name", "days"), required=("name",), unique=("name",)),
    "currency": TableSpec(_t("name"), required=("name",), unique=("name",)),
    "unit": TableSpec(_t("name"), required=("name",), unique=("name",)),
    "draft": TableSpec(_t("name"), required=("name",), unique=("name",)),
    # Spec §4: `dimension` (department, "afdeling"), referenced by name from documents and postings.
    "dimension": TableSpec(_t("name", "txt"), required=("name",), unique=("name",)),
    "product_group": TableSpec(
        _t("name", "is_stocked", "account_id_"), required=("name",), unique=("name",),
        refs={"account_id_": ("account", "account_id_")},
    ),
    "account": TableSpec(
        _t("account_id_", "name", "type", "is_monitored", "vatcode_name", "sum_account_id_", "ref_currency_name",
           "is_dimension", "accountoff_id_"),
        _t("system", "module", "stock", "is_bank"),
        required=("account_id_", "name"), unique=("account_id_",), refs={"vatcode_name": ("vatcode", "name")},
    ),
    "debtor_group": TableSpec(
        _t("name", "payment_name", "vatcode_name", "ref_currency_name", "payment_method", "bank_name", "lang"),
        required=("name",), unique=("name",),
        refs={"payment_name": ("payment", "name"), "vatcode_name": ("vatcode", "name"),
              "ref_currency_name": ("currency", "name")},
    ),
    "debtor": TableSpec(
        DEBTOR_WRITABLE,
        _t("contact_id", "balance", "due", "is_blocked", "invoicing_module_name", "bs_mandate"),
        required=("module_id_", "name"), unique=("module_id_",),
        refs={"module_group_name": ("debtor_group", "name"), "vatcode_name": ("vatcode", "name"),
              "payment_name": ("payment", "name"), "ref_currency_name": ("currency", "name")},
    ),
    "product": TableSpec(
        A.PRODUCT_WRITABLE,
        _t("block_id", "type", "product_group_id", "in_stock", "in_order", "in_supplier_order",
           "time_stock_change", "is_stocked", "profit_ratio", "price_cost"),
        required=("product_id_", "name"), unique=("product_id_",),
        refs={"product_group_name": ("product_group", "name"), "unit_name": ("unit", "name")},
    ),
    A.INVOICE_TABLE: TableSpec(
        A.INVOICE_WRITABLE,
        _t("is_booked", "is_system", "is_matched", "is_reminder", "is_credited", "is_credited_complete",
           "is_subscription", "module_id", "time_due", "invoice_id_", "currency_rate", "sha1_ref", "is_seen",
           "fi_payment_id_", "accountoff_id", "public_url", *TOTALS),
        required=("module_id_",),
        refs={"module_id_": ("debtor", "module_id_"), "payment_name": ("payment", "name"),
              "currency_name": ("currency", "name"), "dimension_name": ("dimension", "name")},
    ),
    A.INVOICE_LINE_TABLE: TableSpec(
        A.INVOICE_LINE_WRITABLE,
        _t("product_id", "qty_credited", "is_list_listing", "is_list_pricing", "vatcode_type", *TOTALS),
        required=("invoice_id", "product_id_", "qty"),
        refs={"invoice_id": (A.INVOICE_TABLE, "id"), "product_id_": ("product", "product_id_"),
              "vatcode_name": ("vatcode", "name")},
    ),
    A.CREDITNOTE_TABLE: TableSpec(
        A.CREDITNOTE_WRITABLE,
        _t("is_booked", "module_id", "module_id_", "invoice_id_", "credit_invoice_id_", "sha1_ref", "lang",
           "attention", "address", "zip", "city", "txt", *TOTALS),
        required=("invoice_id",),
        refs={"invoice_id": (A.INVOICE_TABLE, "id"), "dimension_name": ("dimension", "name")},
    ),
    A.CREDITNOTE_LINE_TABLE: TableSpec(
        A.CREDITNOTE_LINE_WRITABLE,
        _t("product_id", "qty_credited", "is_list_listing", "is_list_pricing", *TOTALS),
        required=("creditnote_id", "qty"),
        refs={"creditnote_id": (A.CREDITNOTE_TABLE, "id"), "product_id_": ("product", "product_id_"),
              "vatcode_name": ("vatcode", "name"), "invoice_product_id": (A.INVOICE_LINE_TABLE, "id")},
    ),
    "enclosure": TableSpec(
        _t("time", "draft_id", "dimension_name", "enc_id_", "txt", "note"),
        _t("is_booked", "system", "dimension_id", "balance_amount", "vat_amount", "profit_amount"),
        required=("draft_id",), refs={"draft_id": ("draft", "id"), "dimension_name": ("dimension", "name")},
    ),
    "accounting": TableSpec(
        _t("enclosure_id", "type", "account_id_", "accountoff_id_", "vatcode_name", "dimension_name",
           "dimensionoff_name", "invoice_id_", "invoice_time_due", "fi_payment_id_", "currency_name", "amount",
           "currency_rate"),
        _t("time", "bank_recon_id", "currency_amount", "is_readonly"),
        required=("enclosure_id", "type", "amount"),
        refs={"enclosure_id": ("enclosure", "id"), "vatcode_name": ("vatcode", "name"),
              "currency_name": ("currency", "name"), "dimension_name": ("dimension", "name")},
    ),
}
