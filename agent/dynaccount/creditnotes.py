"""Credit notes (A-24) and what invoices and credit notes share: the booking answer (A-20), the
line-insert answer (A-41), the compensation of a rejected second step."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from . import assumptions as A
from .errors import DynaccountRejected
from .models import CreditLineIn, CreditNote, CreditNoteLine, Invoice
from .signing import FormValue
from .transport import DynaccountApi, JsonRow

log = logging.getLogger(__name__)
_Doc = TypeVar("_Doc", Invoice, CreditNote)

CREDITNOTE_SELECT = (
    "id", "invoice_id", "invoice_id_", "credit_invoice_id_", "requisition", "note", "is_booked", "time",
    "vat_amount", "total_amount",
)  # fmt: skip
CREDITNOTE_LINE_SELECT = (
    "id", "invoice_product_id", "product_id_", "name", "qty", "price", "vatcode_name", "vat_amount",
    "total_amount",
)  # fmt: skip


class CreditNotesMixin(DynaccountApi):
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
            answered = await self.insert_bulk(A.CREDITNOTE_LINE_TABLE, [_credit_line_form(note_id, ln) for ln in lines])
        except DynaccountRejected:
            await self._compensate(A.CREDITNOTE_TABLE, note_id)
            raise
        # As for invoices: the lines as answered, the header (its totals) read once to verify.
        header_row = (await self.get(A.CREDITNOTE_TABLE, note_id, select=CREDITNOTE_SELECT))[0]
        if not _whole(answered, len(lines)):
            return await self._with_credit_lines(header_row)
        return _creditnote(header_row, answered)

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

    async def book_creditnote(self, creditnote_id: int, lines: Sequence[CreditNoteLine] | None = None) -> CreditNote:
        """A-20 (analogue): ``action/book_debtor_creditnote/`` with ``creditnote_id``; stock of
        stocked products comes back (A-35). With the note's ``lines`` known, nothing is read back."""
        try:
            answer = await self.action(A.BOOK_CREDITNOTE_ACTION, {A.BOOK_CREDITNOTE_PARAM: creditnote_id})
        except DynaccountRejected:
            note = await self.get_creditnote(creditnote_id)
            if not note.is_booked:
                raise
            return note
        booked = _answered(answer, creditnote_id)
        if booked is None or lines is None:
            return await self.get_creditnote(creditnote_id)
        return _creditnote(booked, [line.model_dump() for line in lines])

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


def _whole(answered: Sequence[JsonRow], count: int) -> bool:
    """A-41: ``insert_bulk`` answers every row with its default columns, amounts included (as ``put``, A-8)."""
    return len(answered) == count and all("vat_amount" in r and "total_amount" in r for r in answered)


def _answered(answer: Sequence[JsonRow], row_id: int) -> JsonRow | None:
    """The booked row a booking action answered for ``row_id`` (A-20), if it did; else the caller reads it."""
    row = answer[0] if answer else None
    if row is None or str(row.get("id")) != str(row_id) or "is_booked" not in row or "total_amount" not in row:
        return None
    return row


def _creditnote(header: JsonRow, lines: Sequence[JsonRow]) -> CreditNote:
    return CreditNote.model_validate({**header, "lines": [CreditNoteLine.model_validate(ln) for ln in lines]})


def _preferred(docs: Sequence[_Doc]) -> _Doc | None:
    """A booked document wins over drafts; otherwise the oldest."""
    booked = [d for d in docs if d.is_booked]
    return booked[0] if booked else (docs[0] if docs else None)


def _discount(form: dict[str, FormValue], percent: Decimal | None) -> None:
    """A-30: a percentage discount is ``discount_type=PERCENT`` + ``discount_value``."""
    if percent:
        form["discount_type"] = A.DISCOUNT_TYPE_PERCENT
        form["discount_value"] = percent


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
