"""Typed Dynaccount operations the agent needs, on top of :class:`DynaccountApi`.

Every call that rests on an unpublished name uses a constant from :mod:`.assumptions` and cites
its ASSUMPTION number here. Multi-step writes are not transactional: on a *rejected* second step
the parent is deleted (PHP-lib's compensation); on an *unknown* outcome nothing is undone and the
caller finds the document by its reference (``requisition``) and converges from there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from . import assumptions as A
from .errors import DynaccountNotFound, DynaccountRejected
from .models import (
    CreditLineIn,
    CreditNote,
    CreditNoteLine,
    Debtor,
    DebtorFields,
    DebtorGroup,
    Invoice,
    InvoiceHeader,
    InvoiceLine,
    LineIn,
    PaymentTerms,
    Product,
    ProductFields,
    StockLevel,
    VatCode,
    parse_flag,
    parse_time,
)
from .payments import PaymentsMixin
from .signing import FormValue
from .transport import DynaccountApi, JsonRow

log = logging.getLogger(__name__)
_Doc = TypeVar("_Doc", Invoice, CreditNote)

DEBTOR_SELECT = (
    "id", "module_id_", "name", "module_group_name", "vatcode_name", "payment_name", "ref_country_name",
    "ref_currency_name", "email", "vatno", "ean",
)  # fmt: skip
GROUP_SELECT = (
    "id", "name", "payment_name", "vatcode_name", "ref_currency_name", "payment_method", "bank_name", "lang",
)  # fmt: skip
PRODUCT_SELECT = (
    "id", "product_id_", "name", "price", "product_group_name", "unit_name", "txt", "in_stock", "in_order",
    "time_stock_change", "is_stocked",
)  # fmt: skip
INVOICE_SELECT = (
    "id", "invoice_id_", "module_id_", "requisition", "is_booked", "is_matched", "time", "time_due",
    "currency_name", "payment_name", "txt", "vat_amount", "total_amount",
)  # fmt: skip
INVOICE_LINE_SELECT = (
    "id", "product_id_", "name", "qty", "price", "vatcode_name", "discount_type", "discount_value",
    "vat_amount", "total_amount", "qty_credited",
)  # fmt: skip
CREDITNOTE_SELECT = (
    "id", "invoice_id", "invoice_id_", "credit_invoice_id_", "requisition", "note", "is_booked", "time",
    "vat_amount", "total_amount",
)  # fmt: skip
CREDITNOTE_LINE_SELECT = (
    "id", "invoice_product_id", "product_id_", "name", "qty", "price", "vatcode_name", "vat_amount",
    "total_amount",
)  # fmt: skip


class DynaccountClient(PaymentsMixin, DynaccountApi):
    """``DynaccountClient(session, base_url=…, api_id=…, api_key=…, api_secret=…, timeout=…)``."""

    # -- debtors, groups, setup tables ----------------------------------------------------------

    async def find_debtor(self, number: str) -> Debtor | None:
        rows = await self.get("debtor", select=DEBTOR_SELECT, filters={"module_id_": number})
        return Debtor.model_validate(rows[0]) if rows else None

    async def upsert_debtor(self, fields: DebtorFields) -> Debtor:
        """Upsert by debtor number (``module_id_``), never by our own ids (spec §8).

        A-10: the whole field set the agent owns is sent on update, too."""
        existing = await self.find_debtor(fields.module_id_)
        row = await self.put("debtor", fields.form(), existing.id if existing else None)
        return Debtor.model_validate(row)

    async def create_debtor(self, fields: DebtorFields) -> Debtor:
        """A new debtor; Dynaccount refuses a number that exists (``module_id_`` "already exists")."""
        return Debtor.model_validate(await self.put("debtor", fields.form()))

    async def get_debtor_group(self, name: str) -> DebtorGroup | None:
        rows = await self.get("debtor_group", select=GROUP_SELECT, filters={"name": name})
        return DebtorGroup.model_validate(rows[0]) if rows else None

    async def list_vatcodes(self) -> list[VatCode]:
        """A-31: the rate column is ``rate`` (percent)."""
        rows = await self.get_all("vatcode", select=("id", "name", A.VATCODE_RATE_COLUMN, "type"))
        return [VatCode.model_validate(r) for r in rows]

    async def list_payment_terms(self) -> list[PaymentTerms]:
        """A-26: the ``payment`` table holds payment terms."""
        rows = await self.get_all(A.PAYMENT_TERMS_TABLE, select=("id", "name", "days"))
        return [PaymentTerms.model_validate(r) for r in rows]

    # -- products and stock ---------------------------------------------------------------------

    async def find_product(self, product_number: str) -> Product | None:
        rows = await self.get("product", select=PRODUCT_SELECT, filters={"product_id_": product_number})
        return Product.model_validate(rows[0]) if rows else None

    async def upsert_product(self, fields: ProductFields) -> Product:
        """A-25: only the columns in ``assumptions.PRODUCT_WRITABLE`` are written."""
        form = {k: v for k, v in fields.form().items() if k in A.PRODUCT_WRITABLE}
        existing = await self.find_product(fields.product_id_)
        row = await self.put("product", form, existing.id if existing else None)
        return Product.model_validate(row)

    async def stock_levels(self) -> list[StockLevel]:
        """A-28: no "changed since" filter exists, so read every product, paged, and diff
        client-side on ``in_stock``/``time_stock_change``; A-35: stock moves on booking."""
        rows = await self.get_all("product", select=A.STOCK_COLUMNS, page_size=A.STOCK_PAGE_SIZE)
        return [StockLevel.model_validate(r) for r in rows]

    # -- invoices -------------------------------------------------------------------------------

    async def create_invoice(self, header: InvoiceHeader, lines: Sequence[LineIn], reference: str) -> Invoice:
        """Create an unbooked invoice with its lines (A-22, A-23); ``reference`` goes into
        ``requisition`` so :meth:`find_invoice_by_reference` finds it after an unknown outcome."""
        row = await self.put(A.INVOICE_TABLE, {**header.form(), A.REFERENCE_COLUMN: reference})
        invoice_id = int(row["id"])
        try:
            await self.insert_bulk(A.INVOICE_LINE_TABLE, [_invoice_line_form(invoice_id, ln) for ln in lines])
        except DynaccountRejected:
            await self._compensate(A.INVOICE_TABLE, invoice_id)
            raise
        return await self.get_invoice(invoice_id)

    async def get_invoice(self, invoice_id: int) -> Invoice:
        rows = await self.get(A.INVOICE_TABLE, invoice_id, select=INVOICE_SELECT)
        return await self._with_invoice_lines(rows[0])

    async def invoice_booked(self, invoice_id: int) -> bool:
        """Whether the invoice is booked: one header read, no lines. A deleted one is not booked."""
        try:
            rows = await self.get(A.INVOICE_TABLE, invoice_id, select=("id", "is_booked"))
        except DynaccountNotFound:
            return False
        return bool(rows) and parse_flag(rows[0].get("is_booked"))

    async def find_invoices_by_reference(self, reference: str) -> list[Invoice]:
        """All invoices carrying ``reference`` (more than one means a duplicate to report)."""
        rows = await self.get(
            A.INVOICE_TABLE, select=INVOICE_SELECT, filters={A.REFERENCE_COLUMN: reference}, order="id"
        )
        return [await self._with_invoice_lines(r) for r in rows]

    async def find_invoice_by_reference(self, reference: str) -> Invoice | None:
        """The invoice with ``reference``, booked or not; a booked one wins over drafts."""
        found = await self.find_invoices_by_reference(reference)
        if len(found) > 1:
            log.warning("%d invoices carry reference %s", len(found), reference)
        return _preferred(found)

    async def replace_invoice_lines(
        self, invoice_id: int, header: InvoiceHeader, lines: Sequence[LineIn]
    ) -> Invoice:
        """Rewrite an unbooked invoice: header (keeping its reference), then all lines."""
        current = await self.get_invoice(invoice_id)
        await self.put(A.INVOICE_TABLE, {**header.form(), A.REFERENCE_COLUMN: current.requisition}, invoice_id)
        for line in current.lines:
            await self.delete(A.INVOICE_LINE_TABLE, line.id)
        await self.insert_bulk(A.INVOICE_LINE_TABLE, [_invoice_line_form(invoice_id, ln) for ln in lines])
        return await self.get_invoice(invoice_id)

    async def book_invoice(self, invoice_id: int) -> Invoice:
        """A-20: booking is ``action/book_debtor_invoice/`` with ``invoice_id``; the number is
        assigned on booking (A-29). Booking an already booked invoice returns it unchanged."""
        try:
            await self.action(A.BOOK_INVOICE_ACTION, {A.BOOK_INVOICE_PARAM: invoice_id})
        except DynaccountRejected as exc:
            invoice = await self.get_invoice(invoice_id)
            if not invoice.is_booked:
                raise
            log.info("invoice %s was already booked (%s)", invoice_id, exc)
            return invoice
        return await self.get_invoice(invoice_id)

    async def invoice_pdf(self, invoice_number: int) -> bytes:
        """A-21: ``document/debtor_invoice/{invoice number}/`` returns application/pdf."""
        return await self.document(A.INVOICE_DOCUMENT, invoice_number)

    async def send_invoice(self, invoice_id: int, email: str, msg: str, *, attach: bool = True) -> None:
        """FACT (PHP-lib test): ``action/send_debtor_invoice/``."""
        await self.action(
            "send_debtor_invoice", {"invoice_id": invoice_id, "email": email, "msg": msg, "is_attached": attach}
        )

    async def invoices_dated(self, start: int, end: int) -> list[Invoice]:
        """Invoices whose ``time`` is in [start, end) (Unix seconds), each with its lines."""
        rows = await self._dated(A.INVOICE_TABLE, INVOICE_SELECT, start, end)
        return [await self._with_invoice_lines(r) for r in rows]

    async def creditnotes_dated(self, start: int, end: int) -> list[CreditNote]:
        """Credit notes whose ``time`` is in [start, end), each with its lines."""
        rows = await self._dated(A.CREDITNOTE_TABLE, CREDITNOTE_SELECT, start, end)
        return [await self._with_credit_lines(r) for r in rows]

    async def _dated(self, table: str, select: Sequence[str], start: int, end: int) -> list[JsonRow]:
        """A-5 knows no ranges: page newest first (A-6, A-7) and stop at the first page reaching before ``start``."""
        found: list[JsonRow] = []
        offset, size = 0, 200
        while True:
            page = await self.get(table, select=select, order="time desc,id desc", limit=(offset, size))
            times = [parse_time(r.get("time")) or 0 for r in page]
            found += [r for r, t in zip(page, times, strict=True) if start <= t < end]
            if len(page) < size or (times and times[-1] < start):
                return found
            offset += size

    async def _with_invoice_lines(self, row: JsonRow) -> Invoice:
        lines = await self.get_all(
            A.INVOICE_LINE_TABLE, select=INVOICE_LINE_SELECT, filters={"invoice_id": row["id"]}
        )
        return Invoice.model_validate({**row, "lines": [InvoiceLine.model_validate(ln) for ln in lines]})

    # -- credit notes ---------------------------------------------------------------------------

    async def create_creditnote(
        self,
        invoice_id: int,
        lines: Sequence[CreditLineIn],
        reference: str,
        text: str = "",
        *,
        time: int | None = None,
        dimension: str = "",
    ) -> CreditNote:
        """A-24: ``put/debtor_creditnote/`` with the booked invoice's internal id, then lines that
        credit invoice lines (partial qty) or free credit lines. The server refuses crediting more
        than an invoice line's remaining quantity or more than the invoice total."""
        header: dict[str, FormValue] = {"invoice_id": invoice_id, A.REFERENCE_COLUMN: reference, "note": text}
        if time is not None:
            header["time"] = time
        if dimension:
            header["dimension_name"] = dimension
        row = await self.put(A.CREDITNOTE_TABLE, header)
        note_id = int(row["id"])
        try:
            await self.insert_bulk(A.CREDITNOTE_LINE_TABLE, [_credit_line_form(note_id, ln) for ln in lines])
        except DynaccountRejected:
            await self._compensate(A.CREDITNOTE_TABLE, note_id)
            raise
        return await self.get_creditnote(note_id)

    async def get_creditnote(self, creditnote_id: int) -> CreditNote:
        rows = await self.get(A.CREDITNOTE_TABLE, creditnote_id, select=CREDITNOTE_SELECT)
        return await self._with_credit_lines(rows[0])

    async def find_creditnote_by_reference(self, reference: str) -> CreditNote | None:
        rows = await self.get(
            A.CREDITNOTE_TABLE, select=CREDITNOTE_SELECT, filters={A.REFERENCE_COLUMN: reference}, order="id"
        )
        if len(rows) > 1:
            log.warning("%d credit notes carry reference %s", len(rows), reference)
        notes = [await self._with_credit_lines(r) for r in rows]
        return _preferred(notes)

    async def book_creditnote(self, creditnote_id: int) -> CreditNote:
        """A-20 (analogue): ``action/book_debtor_creditnote/`` with ``creditnote_id``; stock of
        stocked products comes back (A-35)."""
        try:
            await self.action(A.BOOK_CREDITNOTE_ACTION, {A.BOOK_CREDITNOTE_PARAM: creditnote_id})
        except DynaccountRejected:
            note = await self.get_creditnote(creditnote_id)
            if not note.is_booked:
                raise
            return note
        return await self.get_creditnote(creditnote_id)

    async def creditnote_pdf(self, creditnote_number: int) -> bytes:
        """A-21: ``document/debtor_creditnote/{number}/``."""
        return await self.document(A.CREDITNOTE_DOCUMENT, creditnote_number)

    async def _with_credit_lines(self, row: JsonRow) -> CreditNote:
        lines = await self.get_all(
            A.CREDITNOTE_LINE_TABLE, select=CREDITNOTE_LINE_SELECT, filters={"creditnote_id": row["id"]}
        )
        return CreditNote.model_validate({**row, "lines": [CreditNoteLine.model_validate(ln) for ln in lines]})

    async def _compensate(self, table: str, row_id: int) -> None:
        """Delete a parent whose children were rejected; a failure here is logged, not raised,
        so the caller sees the original rejection (the orphan is found by reference later)."""
        try:
            await self.delete(table, row_id)
        except Exception as exc:  # the original error matters more
            log.warning("could not roll back %s %s: %s", table, row_id, exc)


def _preferred(docs: Sequence[_Doc]) -> _Doc | None:
    """A booked document wins over drafts; otherwise the oldest."""
    booked = [d for d in docs if d.is_booked]
    return booked[0] if booked else (docs[0] if docs else None)


def _discount(form: dict[str, FormValue], percent: Decimal | None) -> None:
    """A-30: a percentage discount is ``discount_type=PERCENT`` + ``discount_value``."""
    if percent:
        form["discount_type"] = A.DISCOUNT_TYPE_PERCENT
        form["discount_value"] = percent


def _invoice_line_form(invoice_id: int, line: LineIn) -> dict[str, FormValue]:
    """A-23: an invoice line is a debtor_order_product with ``invoice_id``."""
    form: dict[str, FormValue] = {
        "invoice_id": invoice_id,
        "product_id_": line.product_id_,
        "name": line.name,
        "qty": line.qty,
        "price": line.price,
        "vatcode_name": line.vatcode_name,
        "discount_type": "",
        "discount_value": "",
        "txt": line.txt or "",
    }
    _discount(form, line.discount_percent)
    return form


def _credit_line_form(creditnote_id: int, line: CreditLineIn) -> dict[str, FormValue]:
    """A-24: empty columns mean "as on the invoice line"."""
    form: dict[str, FormValue] = {
        "creditnote_id": creditnote_id,
        "invoice_product_id": line.invoice_product_id or "",
        "product_id_": line.product_id_ or "",
        "qty": line.qty,
        "price": "" if line.price is None else line.price,
        "vatcode_name": line.vatcode_name or "",
        "name": line.name or "",
        "discount_type": "",
        "discount_value": "",
    }
    _discount(form, line.discount_percent)
    return form
