"""Sandbox actions and documents: booking (A-20, A-29, A-35), sending (FACT), PDFs (A-21)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from agent.dynaccount import assumptions as A

from . import docs
from .store import ApiError, Row, Store

DAY = 86_400


def _id_param(params: Mapping[str, str], name: str) -> int:
    raw = params.get(name, "").strip()
    if not raw.isdigit():
        raise ApiError(400, {name: "is required (internal id)"})
    return int(raw)


def _move_stock(store: Store, lines: list[Row], sign: int) -> None:
    """A-35: booking moves stock of stocked products (invoice: out, credit note: back in)."""
    now = store.clock()
    for line in lines:
        product = store.tables["product"].get(line.get("product_id") or 0)
        if product is not None and product.get("is_stocked"):
            product["in_stock"] = (product["in_stock"] or Decimal(0)) + sign * line["qty"]
            product["time_stock_change"] = now


def book_invoice(store: Store, params: Mapping[str, str]) -> list[Row]:
    """A-20: ``book_debtor_invoice`` with ``invoice_id``; A-29: the number is assigned here."""
    invoice = store.row(A.INVOICE_TABLE, _id_param(params, A.BOOK_INVOICE_PARAM))
    if invoice["is_booked"]:
        raise ApiError(400, {"is_booked": "the invoice is already booked"})
    lines = store.where(A.INVOICE_LINE_TABLE, "invoice_id", invoice["id"])
    if not lines:
        raise ApiError(400, {"invoice_id": "an invoice without lines cannot be booked"})
    terms = store.find("payment", "name", invoice.get("payment_name")) or {}
    invoice["invoice_id_"] = store.take_number()
    invoice["time_due"] = invoice["time"] + DAY * int(terms.get("days") or 0)
    invoice["is_booked"] = True
    invoice["public_url"] = f"/public/invoice/{invoice['invoice_id_']}"
    _move_stock(store, lines, -1)
    return [store.render(A.INVOICE_TABLE, invoice)]


def book_creditnote(store: Store, params: Mapping[str, str]) -> list[Row]:
    """A-20 analogue: ``book_debtor_creditnote`` with ``creditnote_id``; stock comes back (A-35)."""
    note = store.row(A.CREDITNOTE_TABLE, _id_param(params, A.BOOK_CREDITNOTE_PARAM))
    if note["is_booked"]:
        raise ApiError(400, {"is_booked": "the credit note is already booked"})
    lines = store.where(A.CREDITNOTE_LINE_TABLE, "creditnote_id", note["id"])
    if not lines:
        raise ApiError(400, {"creditnote_id": "a credit note without lines cannot be booked"})
    docs.check_credit_total(store, note)
    note["invoice_id_"] = store.take_number()
    note["is_booked"] = True
    _move_stock(store, lines, +1)
    _mark_credited(store, note, lines)
    return [store.render(A.CREDITNOTE_TABLE, note)]


def _mark_credited(store: Store, note: Row, lines: list[Row]) -> None:
    invoice = store.row(A.INVOICE_TABLE, note["invoice_id"])
    for line in lines:
        if line.get("invoice_product_id"):
            invoice_line = store.row(A.INVOICE_LINE_TABLE, line["invoice_product_id"])
            invoice_line["qty_credited"] = (invoice_line["qty_credited"] or Decimal(0)) + line["qty"]
    booked = [n for n in store.where(A.CREDITNOTE_TABLE, "invoice_id", invoice["id"]) if n["is_booked"]]
    credited = sum((n["total_amount"] for n in booked), Decimal(0))
    invoice["is_credited"] = True
    invoice["is_credited_complete"] = credited >= invoice["total_amount"]


def send_invoice(store: Store, params: Mapping[str, str]) -> list[Row]:
    """FACT (PHP-lib test): ``send_debtor_invoice`` with invoice_id, email, msg, is_attached."""
    invoice = store.row(A.INVOICE_TABLE, _id_param(params, "invoice_id"))
    if not invoice["is_booked"]:
        raise ApiError(400, {"invoice_id": "only a booked invoice can be sent"})
    if "@" not in params.get("email", ""):
        raise ApiError(400, {"email": "is not an e-mail address"})
    store.sent.append({"invoice_id": invoice["id"], "email": params["email"], "msg": params.get("msg", "")})
    return []


ACTIONS: dict[str, Callable[[Store, Mapping[str, str]], list[Row]]] = {
    A.BOOK_INVOICE_ACTION: book_invoice,
    A.BOOK_CREDITNOTE_ACTION: book_creditnote,
    "send_debtor_invoice": send_invoice,
}


def document(store: Store, doc_type: str, number: str) -> bytes:
    """A-21: ``document/{table}/{number}/`` → a valid PDF of a booked document: number, lines, totals."""
    table = {A.INVOICE_DOCUMENT: A.INVOICE_TABLE, A.CREDITNOTE_DOCUMENT: A.CREDITNOTE_TABLE}.get(doc_type)
    if table is None:
        raise ApiError(404, {"document": f"unknown document type {doc_type!r}"})
    row = store.find(table, "invoice_id_", int(number)) if number.isdigit() else None
    if row is None or not row.get("is_booked"):
        raise ApiError(404, {"id": f"{doc_type} {number} not found"})
    invoice = table == A.INVOICE_TABLE
    lines = store.where(A.INVOICE_LINE_TABLE if invoice else A.CREDITNOTE_LINE_TABLE,
                        "invoice_id" if invoice else "creditnote_id", row["id"])  # fmt: skip
    currency = row.get("currency_name") or "DKK"
    text = [f"{'Faktura' if invoice else 'Kreditnota'} {number}", f"Reference: {row.get('requisition') or ''}", ""]
    for line in lines:
        text.append(f"{line.get('qty')} x {line.get('name') or line.get('product_id_') or ''}"
                    f"  {line.get('price') or ''}  {line['total_amount']:.2f}")  # fmt: skip
    net = row["total_amount"] - row["vat_amount"]
    text += ["", f"Netto: {net:.2f} {currency}", f"Moms: {row['vat_amount']:.2f} {currency}",
             f"Total: {row['total_amount']:.2f} {currency}"]  # fmt: skip
    return minimal_pdf(text)


def _pdf_text(text: str) -> bytes:
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return safe.encode("latin-1", "replace")


def minimal_pdf(lines: list[str]) -> bytes:
    """One page of text lines (WinAnsi, so æøå show); xref offsets are computed, so it is valid."""
    body = b"".join(b"(" + _pdf_text(line) + b") Tj T* " for line in lines[:60])
    stream = b"BT /F1 11 Tf 14 TL 56 780 Td " + body + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
