"""Document rules of the sandbox: defaults and references, line amounts and document totals
(A-18 via :mod:`.rules`), booking with numbers and stock moves (A-20, A-29, A-35), credit-note
limits (A-24), payment vouchers (A-27), and refusal to change booked documents."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from agent.dynaccount import assumptions as A
from agent.dynaccount import rules

if TYPE_CHECKING:
    from .store import Row, Store

ZERO = Decimal(0)
ACCOUNTING_TYPES = ("LEDGER", "DEBTOR_INVOICE", A.PAYMENT_DEBTOR_TYPE)


def _err(column: str, message: str, status: int = 400) -> Exception:
    from .store import ApiError

    return ApiError(status, {column: message})


# -- prepare: called with the merged candidate row before generic checks --------------------------


def prepare(store: Store, table: str, row: Row, existing: Row | None) -> None:
    handler = _PREPARE.get(table)
    if handler is not None:
        handler(store, row, existing)


def _prepare_product(store: Store, row: Row, existing: Row | None) -> None:
    group = store.find("product_group", "name", row.get("product_group_name"))
    row["is_stocked"] = bool(group and group.get("is_stocked"))
    row["product_group_id"] = group["id"] if group else None
    if existing is None:
        row["in_stock"], row["in_order"], row["in_supplier_order"] = ZERO, ZERO, ZERO


def _prepare_invoice(store: Store, row: Row, existing: Row | None) -> None:
    _refuse_booked(existing, "invoice")
    if row.get("discount_percent"):
        raise _err("discount_percent", "header discounts are not supported by the sandbox; use line discounts")
    debtor = store.find("debtor", "module_id_", row.get("module_id_"))
    if debtor is None:
        return  # the generic reference check reports it
    row["module_id"] = debtor["id"]
    group = store.find("debtor_group", "name", debtor.get("module_group_name")) or {}
    row["payment_name"] = row.get("payment_name") or debtor.get("payment_name") or group.get("payment_name")
    row["currency_name"] = row.get("currency_name") or debtor.get("ref_currency_name") or "DKK"
    row["lang"] = row.get("lang") or debtor.get("lang") or "da"
    row["time"] = row.get("time") or store.clock()
    for flag in ("is_booked", "is_matched", "is_credited", "is_credited_complete", "is_system"):
        row[flag] = bool(row.get(flag))
    if existing is None:
        row.update(vat_amount=ZERO, total_amount=ZERO)


def _prepare_invoice_line(store: Store, row: Row, existing: Row | None) -> None:
    invoice = store.tables[A.INVOICE_TABLE].get(row.get("invoice_id") or 0)
    if invoice is not None:
        _refuse_booked(invoice, "invoice")
    if existing is not None and existing.get("invoice_id") != row.get("invoice_id"):
        raise _err("invoice_id", "a line cannot move to another invoice")
    product = store.find("product", "product_id_", row.get("product_id_"))
    if product is None or invoice is None:
        return
    debtor = store.row("debtor", invoice["module_id"])
    row["vatcode_name"] = row.get("vatcode_name") or debtor.get("vatcode_name")
    _price_line(store, row, product)
    row["qty_credited"] = row.get("qty_credited") or ZERO


def _prepare_creditnote(store: Store, row: Row, existing: Row | None) -> None:
    _refuse_booked(existing, "credit note")
    invoice = store.tables[A.INVOICE_TABLE].get(row.get("invoice_id") or 0)
    if invoice is None:
        return
    if existing is not None and existing["invoice_id"] != row["invoice_id"]:
        raise _err("invoice_id", "a credit note cannot move to another invoice")
    if not invoice["is_booked"]:
        raise _err("invoice_id", "only a booked invoice can be credited")
    for column in ("module_id", "module_id_", "lang", "attention", "address", "zip", "city", "txt"):
        row[column] = invoice.get(column)
    row["credit_invoice_id_"] = invoice["invoice_id_"]
    row["time"] = row.get("time") or store.clock()
    row["is_booked"] = bool(row.get("is_booked"))
    if existing is None:
        row.update(vat_amount=ZERO, total_amount=ZERO)


def _prepare_credit_line(store: Store, row: Row, existing: Row | None) -> None:
    note = store.tables[A.CREDITNOTE_TABLE].get(row.get("creditnote_id") or 0)
    if note is None:
        return
    _refuse_booked(note, "credit note")
    if row.get("invoice_product_id"):
        _inherit_invoice_line(store, note, row)
    else:
        for column in ("product_id_", "price"):
            if row.get(column) in (None, ""):
                raise _err(column, "is required on a credit line without invoice_product_id")
    if row.get("qty") is not None and row["qty"] <= 0:
        raise _err("qty", "must be positive")
    product = store.find("product", "product_id_", row.get("product_id_"))
    if product is None or row.get("qty") is None:
        return
    _price_line(store, row, product)


def _inherit_invoice_line(store: Store, note: Row, row: Row) -> None:
    """A-24: a credit line pointing at an invoice line takes its product, price, VAT, discount and
    may credit at most the quantity not yet credited by any credit note."""
    line = store.tables[A.INVOICE_LINE_TABLE].get(row["invoice_product_id"])
    if line is None or line["invoice_id"] != note["invoice_id"]:
        raise _err("invoice_product_id", "is not a line of the credited invoice")
    for column in ("product_id_", "price", "vatcode_name", "name", "discount_type", "discount_value"):
        if row.get(column) in (None, ""):
            row[column] = line.get(column)
    credited = sum(
        (r["qty"] for r in store.where(A.CREDITNOTE_LINE_TABLE, "invoice_product_id", line["id"])
         if r["id"] != row.get("id")),
        ZERO,
    )  # fmt: skip
    if row.get("qty") is not None and credited + row["qty"] > line["qty"]:
        raise _err("qty", f"exceeds the invoice line's remaining quantity {line['qty'] - credited}")


def check_credit_total(store: Store, note: Row) -> None:
    """A-37: booking refuses a credit note that, with the invoice's booked credit notes, credits more
    than the invoice's total (checked on the whole document, not line by line)."""
    invoice = store.row(A.INVOICE_TABLE, note["invoice_id"])
    booked = [n for n in store.where(A.CREDITNOTE_TABLE, "invoice_id", invoice["id"]) if n["is_booked"]]
    credited = sum((n["total_amount"] for n in booked if n["id"] != note["id"]), ZERO)
    if credited + note["total_amount"] > invoice["total_amount"]:
        remaining = invoice["total_amount"] - credited
        raise _err("total_amount", f"credits more than the invoice total; {remaining} incl. VAT remains")


def _price_line(store: Store, row: Row, product: Row) -> None:
    """A-18 via rules.line_amounts; ``total_amount`` includes VAT, ``vat_amount`` is the VAT."""
    row["product_id"] = product["id"]
    row["name"] = row.get("name") or product.get("name")
    if row.get("price") is None:
        row["price"] = product.get("price") or ZERO
    # A-36 (ours): an empty vatcode_name on a document line means the line carries no VAT (the
    # agent's rounding line); a named code must exist.
    if row.get("vatcode_name") in (None, ""):
        vatcode: Row = {"rate": ZERO, "type": ""}
    else:
        found = store.find("vatcode", "name", row.get("vatcode_name"))
        if found is None:
            raise _err("vatcode_name", f"vatcode {row.get('vatcode_name')!r} does not exist")
        vatcode = found
    discount = ZERO
    if row.get("discount_type") not in (None, ""):
        if row["discount_type"] != A.DISCOUNT_TYPE_PERCENT:
            raise _err("discount_type", f"must be empty or {A.DISCOUNT_TYPE_PERCENT}")
        discount = row.get("discount_value") or ZERO
    amounts = rules.line_amounts(row["qty"], row["price"], vatcode["rate"] or ZERO, discount)
    row["vatcode_type"] = vatcode.get("type")
    row["vat_amount"], row["total_amount"] = amounts.vat, amounts.total


def _prepare_enclosure(store: Store, row: Row, existing: Row | None) -> None:
    row["time"] = row.get("time") or store.clock()
    row["is_booked"] = False


def _prepare_accounting(store: Store, row: Row, existing: Row | None) -> None:
    kind = row.get("type")
    if kind not in ACCOUNTING_TYPES:
        raise _err("type", f"must be one of {', '.join(ACCOUNTING_TYPES)}")
    if kind == "LEDGER" and store.find("account", "account_id_", row.get("account_id_")) is None:
        raise _err("account_id_", f"account {row.get('account_id_')!r} does not exist")
    if kind != "LEDGER" and store.find("debtor", "module_id_", row.get("accountoff_id_")) is None:
        raise _err("accountoff_id_", f"debtor {row.get('accountoff_id_')!r} does not exist")
    number = row.get("invoice_id_")
    if number is not None and store.find(A.INVOICE_TABLE, "invoice_id_", number) is None:
        raise _err("invoice_id_", f"invoice number {number} does not exist")
    # a row without a currency is in the company currency
    row[A.PAYMENT_CURRENCY_COLUMN] = row.get(A.PAYMENT_CURRENCY_COLUMN) or "DKK"


_PREPARE: dict[str, Any] = {
    "product": _prepare_product,
    A.INVOICE_TABLE: _prepare_invoice,
    A.INVOICE_LINE_TABLE: _prepare_invoice_line,
    A.CREDITNOTE_TABLE: _prepare_creditnote,
    A.CREDITNOTE_LINE_TABLE: _prepare_credit_line,
    "enclosure": _prepare_enclosure,
    "accounting": _prepare_accounting,
}


def _refuse_booked(row: Row | None, what: str) -> None:
    if row is not None and row.get("is_booked"):
        raise _err("is_booked", f"the {what} is booked and cannot be changed")


# -- after writes / deletes -------------------------------------------------------------------------


def after_write(store: Store, table: str, row: Row) -> None:
    if table == A.INVOICE_LINE_TABLE:
        _total(store, A.INVOICE_TABLE, A.INVOICE_LINE_TABLE, "invoice_id", row["invoice_id"])
    elif table == A.CREDITNOTE_LINE_TABLE:
        _total(store, A.CREDITNOTE_TABLE, A.CREDITNOTE_LINE_TABLE, "creditnote_id", row["creditnote_id"])
    elif table == "accounting" and row.get("invoice_id_") is not None:
        match_payments(store, row["invoice_id_"])


def before_delete(store: Store, table: str, row: Row) -> None:
    if table in (A.INVOICE_TABLE, A.CREDITNOTE_TABLE, "enclosure"):
        _refuse_booked(row, table.replace("debtor_", ""))
    elif table == A.INVOICE_LINE_TABLE:
        _refuse_booked(store.row(A.INVOICE_TABLE, row["invoice_id"]), "invoice")
        if store.where(A.CREDITNOTE_LINE_TABLE, "invoice_product_id", row["id"]):
            raise _err("id", "the line has been credited")
    elif table == A.CREDITNOTE_LINE_TABLE:
        _refuse_booked(store.row(A.CREDITNOTE_TABLE, row["creditnote_id"]), "credit note")
    elif table == A.INVOICE_TABLE and store.where(A.CREDITNOTE_TABLE, "invoice_id", row["id"]):
        raise _err("id", "the invoice has credit notes")


def after_delete(store: Store, table: str, row: Row) -> None:
    children = {
        A.INVOICE_TABLE: (A.INVOICE_LINE_TABLE, "invoice_id"),
        A.CREDITNOTE_TABLE: (A.CREDITNOTE_LINE_TABLE, "creditnote_id"),
        "enclosure": ("accounting", "enclosure_id"),
    }
    if table in children:
        child, column = children[table]
        for line in store.where(child, column, row["id"]):
            del store.tables[child][line["id"]]
    after_write(store, table, row)


def _total(store: Store, table: str, line_table: str, column: str, parent_id: int) -> None:
    parent = store.tables[table].get(parent_id)
    if parent is None:
        return
    lines = store.where(line_table, column, parent_id)
    parent["vat_amount"] = sum((ln["vat_amount"] for ln in lines), ZERO)
    parent["total_amount"] = sum((ln["total_amount"] for ln in lines), ZERO)


def match_payments(store: Store, invoice_number: int) -> None:
    """A-27: an invoice counts as matched once its registered payments cover its total."""
    invoice = store.find(A.INVOICE_TABLE, "invoice_id_", invoice_number)
    if invoice is None:
        return
    currency = str(invoice.get("currency_name") or "DKK").upper()
    paid = sum(
        (r["amount"] for r in store.where("accounting", "invoice_id_", invoice_number)
         if r.get("type") == A.PAYMENT_DEBTOR_TYPE  # only payments in the invoice's currency settle it
         and str(r.get(A.PAYMENT_CURRENCY_COLUMN) or "DKK").upper() == currency),
        ZERO,
    )  # fmt: skip
    invoice["is_matched"] = paid >= invoice["total_amount"] > 0
