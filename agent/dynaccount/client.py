"""Typed Dynaccount operations the agent needs, on top of :class:`DynaccountApi`.

Every call that rests on an unpublished name uses a constant from :mod:`.assumptions` and cites
its ASSUMPTION number here. Multi-step writes are not transactional: on a *rejected* second step
the parent is deleted (PHP-lib's compensation); on an *unknown* outcome nothing is undone and the
caller finds the document by its reference (``requisition``) and converges from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from . import assumptions as A
from .creditnotes import CREDITNOTE_SELECT, CreditNotesMixin, _answered, _discount, _preferred, _whole
from .errors import DynaccountNotFound, DynaccountRejected
from .models import (
    CreditNote,
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
from .transport import JsonRow

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


class DynaccountClient(PaymentsMixin, CreditNotesMixin):
    """``DynaccountClient(session, base_url=…, api_id=…, api_key=…, api_secret=…, timeout=…)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._draft_ids: dict[str, int] = {}  # booking drafts by name (PaymentsMixin): they do not change per order
        self._drafts_lock = asyncio.Lock()

    # -- debtors, groups, setup tables ----------------------------------------------------------

    async def find_debtor(self, number: str) -> Debtor | None:
        rows = await self.get("debtor", select=DEBTOR_SELECT, filters={"module_id_": number})
        return Debtor.model_validate(rows[0]) if rows else None

    async def upsert_debtor(self, fields: DebtorFields) -> Debtor:
        """Upsert by debtor number (``module_id_``), never by our own ids (spec §8).

        A-10: the whole field set the agent owns is sent on update, too."""
        existing = await self.find_debtor(fields.module_id_)
        return await self.put_debtor(fields, existing.id if existing else None)

    async def put_debtor(self, fields: DebtorFields, debtor_id: int | None = None) -> Debtor:
        """Create (no id) or update the debtor whose internal id the caller already knows: no look-up.
        A create with a taken number is refused (``module_id_`` "already exists"); an update of a
        debtor deleted meanwhile raises :class:`DynaccountNotFound`."""
        return Debtor.model_validate(await self.put("debtor", fields.form(), debtor_id))

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
        existing = await self.find_product(fields.product_id_)
        return await self.put_product(fields, existing.id if existing else None)

    async def put_product(self, fields: ProductFields, product_id: int | None = None) -> Product:
        """Create (no id) or update a product whose internal id the caller knows: no look-up."""
        form = {k: v for k, v in fields.form().items() if k in A.PRODUCT_WRITABLE}
        return Product.model_validate(await self.put("product", form, product_id))

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
            answered = await self.insert_bulk(
                A.INVOICE_LINE_TABLE, [_invoice_line_form(invoice_id, ln) for ln in lines]
            )
        except DynaccountRejected:
            await self._compensate(A.INVOICE_TABLE, invoice_id)
            raise
        # The lines are as the insert answered them (A-11: one row per line, with Dynaccount's amounts);
        # only the header's totals changed since the put answered, so only the header is read: the
        # verification read before booking (issue 12).
        header_row = (await self.get(A.INVOICE_TABLE, invoice_id, select=INVOICE_SELECT))[0]
        if not _whole(answered, len(lines)):  # an answer without its rows' amounts: read them, never guess
            return await self._with_invoice_lines(header_row)
        return _invoice(header_row, answered)

    async def get_invoice(self, invoice_id: int, *, lines: bool = True) -> Invoice:
        """The invoice; ``lines=False`` reads the header only (one call), e.g. to see whether it is booked."""
        rows = await self.get(A.INVOICE_TABLE, invoice_id, select=INVOICE_SELECT)
        if not rows:
            raise DynaccountNotFound(f"get/{A.INVOICE_TABLE}: invoice {invoice_id} not found", status=404)
        return await self._with_invoice_lines(rows[0]) if lines else _invoice(rows[0], [])

    async def with_lines(self, invoice: Invoice) -> Invoice:
        """``invoice`` (read without its lines) with its lines read."""
        rows = await self.get_all(A.INVOICE_LINE_TABLE, select=INVOICE_LINE_SELECT, filters={"invoice_id": invoice.id})
        return invoice.model_copy(update={"lines": [InvoiceLine.model_validate(ln) for ln in rows]})

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

    async def replace_invoice_lines(self, invoice_id: int, header: InvoiceHeader, lines: Sequence[LineIn]) -> Invoice:
        """Rewrite an unbooked invoice: header (keeping its reference), then all lines."""
        current = await self.get_invoice(invoice_id)
        await self.put(A.INVOICE_TABLE, {**header.form(), A.REFERENCE_COLUMN: current.requisition}, invoice_id)
        for line in current.lines:
            await self.delete(A.INVOICE_LINE_TABLE, line.id)
        await self.insert_bulk(A.INVOICE_LINE_TABLE, [_invoice_line_form(invoice_id, ln) for ln in lines])
        return await self.get_invoice(invoice_id)

    async def book_invoice(self, invoice: Invoice | int) -> Invoice:
        """A-20: booking is ``action/book_debtor_invoice/`` with ``invoice_id``, answering the booked
        row; the number is assigned on booking (A-29). Booking an already booked invoice returns it
        unchanged. Given the :class:`Invoice` (with its lines), nothing is read back: booking does not
        change lines, and the answer carries the header."""
        invoice_id = invoice if isinstance(invoice, int) else invoice.id
        try:
            answer = await self.action(A.BOOK_INVOICE_ACTION, {A.BOOK_INVOICE_PARAM: invoice_id})
        except DynaccountRejected as exc:
            current = await self.get_invoice(invoice_id)
            if not current.is_booked:
                raise
            log.info("invoice %s was already booked (%s)", invoice_id, exc)
            return current
        booked = _answered(answer, invoice_id)
        if booked is None or isinstance(invoice, int):
            return await self.get_invoice(invoice_id)
        return _invoice(booked, [line.model_dump() for line in invoice.lines])

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
        lines = await self.get_all(A.INVOICE_LINE_TABLE, select=INVOICE_LINE_SELECT, filters={"invoice_id": row["id"]})
        return Invoice.model_validate({**row, "lines": [InvoiceLine.model_validate(ln) for ln in lines]})


def _invoice(header: JsonRow, lines: Sequence[JsonRow]) -> Invoice:
    return Invoice.model_validate({**header, "lines": [InvoiceLine.model_validate(ln) for ln in lines]})


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
