"""Payment registration (A-27): a voucher in a booking draft, found again by its reference."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from . import assumptions as A
from .errors import DynaccountRejected
from .models import Invoice, Payment
from .signing import FormValue
from .transport import DynaccountApi, JsonRow

ENCLOSURE_SELECT = ("id", "time", "draft_id", "txt", "note")
ACCOUNTING_SELECT = ("id", "type", "account_id_", "accountoff_id_", "invoice_id_", "amount")
_MAX_DRAFTS = 16




class PaymentsMixin(DynaccountApi):
    _draft_ids: dict[str, int]  # set by the client's __init__
    _drafts_lock: asyncio.Lock

    async def register_payment(
        self,
        invoice: Invoice,
        amount: Decimal,
        date: int,
        reference: str,
        *,
        bank_account: str,
        draft_name: str = A.PAYMENT_DRAFT_DEFAULT,
        text: str = "",
        dimension: str = "",
    ) -> Payment:
        """A-27: ``put/enclosure/`` (txt = reference) in the draft, then ``insert_bulk/accounting/``
        with a LEDGER row debiting ``bank_account`` and a DEBTOR_PAYMENT row crediting the debtor,
        carrying the invoice number for matching. A rejected row set deletes the voucher again."""
        if invoice.number is None:
            raise DynaccountRejected("a payment needs a booked invoice", field_errors={"invoice_id_": "not booked"})
        fields: dict[str, FormValue] = {"time": date, A.PAYMENT_REFERENCE_COLUMN: reference, "note": text}
        if dimension:
            fields["dimension_name"] = dimension
        try:
            enclosure = await self.put("enclosure", {**fields, "draft_id": await self._draft_id(draft_name)})
        except DynaccountRejected as exc:
            if "draft_id" not in exc.field_errors:
                raise
            # The draft the cached id named is gone (deleted, or re-created under the same name): read again.
            self._draft_ids.pop(draft_name, None)
            enclosure = await self.put("enclosure", {**fields, "draft_id": await self._draft_id(draft_name)})
        enclosure_id = int(enclosure["id"])
        try:
            rows = await self.insert_bulk("accounting", _payment_rows(enclosure_id, invoice, amount, bank_account))
        except DynaccountRejected:
            await self.delete("enclosure", enclosure_id)
            raise
        if len(rows) != 2 or not all("amount" in r and "type" in r for r in rows):  # else read them
            return await self._payment(enclosure)
        return _payment_of(enclosure, rows)

    async def _draft_id(self, name: str) -> int:
        """The booking draft's id by name, read once (drafts are made by hand in the UI and stay)."""
        if name in self._draft_ids:
            return self._draft_ids[name]
        async with self._drafts_lock:  # payments starting together read it once, not once each
            if name not in self._draft_ids:
                drafts = await self.get("draft", select=("id",), filters={"name": name})
                if not drafts:
                    raise DynaccountRejected(f"booking draft {name!r} not found",
                                             field_errors={"draft_name": "not found"})  # fmt: skip
                if len(self._draft_ids) >= _MAX_DRAFTS:  # bounded: a config names one or two drafts
                    self._draft_ids.clear()
                self._draft_ids[name] = int(drafts[0]["id"])
            return self._draft_ids[name]

    async def find_payment_by_reference(self, reference: str) -> Payment | None:
        """The voucher carrying ``reference``; ``complete`` is False if its rows are missing
        (the row insert's outcome was lost): call :meth:`delete_payment` and register again."""
        rows = await self.get(
            "enclosure", select=ENCLOSURE_SELECT, filters={A.PAYMENT_REFERENCE_COLUMN: reference}, order="id"
        )
        return await self._payment(rows[0]) if rows else None

    async def delete_payment(self, enclosure_id: int) -> None:
        await self.delete("enclosure", enclosure_id)

    async def _payment(self, enclosure: JsonRow) -> Payment:
        rows = await self.get_all("accounting", select=ACCOUNTING_SELECT, filters={"enclosure_id": enclosure["id"]})
        return _payment_of(enclosure, rows)


def _payment_of(enclosure: JsonRow, rows: list[JsonRow]) -> Payment:
    """The voucher and its accounting rows as a :class:`Payment` (complete: both rows are there)."""
    debtor_rows = [r for r in rows if r.get("type") == A.PAYMENT_DEBTOR_TYPE]
    debtor = debtor_rows[0] if debtor_rows else {}
    number = debtor.get("invoice_id_")
    return Payment(
        enclosure_id=int(enclosure["id"]),
        reference=str(enclosure.get(A.PAYMENT_REFERENCE_COLUMN, "")),
        amount=Decimal(str(debtor.get("amount") or "0")),
        invoice_number=int(number) if number not in (None, "", 0) else None,
        debtor_number=str(debtor.get("accountoff_id_", "")),
        time=int(enclosure["time"]) if enclosure.get("time") else None,
        complete=len(rows) == 2 and bool(debtor_rows),
    )


def _payment_rows(
    enclosure_id: int, invoice: Invoice, amount: Decimal, bank_account: str
) -> list[dict[str, FormValue]]:
    """A-27/A-19: positive = debit on ``account_id_``, the offset gets the opposite (spec §3.3);
    A-38: in the invoice's currency."""
    common: dict[str, FormValue] = {"enclosure_id": enclosure_id, "vatcode_name": "", "amount": amount,
                                    A.PAYMENT_CURRENCY_COLUMN: invoice.currency_name}  # A-38  # fmt: skip
    return [
        {**common, "type": A.PAYMENT_LEDGER_TYPE, "account_id_": bank_account, "accountoff_id_": "", "invoice_id_": ""},
        {
            **common,
            "type": A.PAYMENT_DEBTOR_TYPE,
            "account_id_": "",
            "accountoff_id_": invoice.module_id_,
            "invoice_id_": invoice.number,
        },
    ]
