"""Execute plans against Dynaccount, exactly once in effect.

Every non-idempotent call is preceded by an intent row. When an intent from an earlier attempt is
found (that attempt crashed or lost its response), the document is looked up by its deterministic
reference before anything is created again. Links (Woo id ↔ Dynaccount id/number) are stored as
soon as a document is known, so a later attempt never has to guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from agent.clock import Clock
from agent.dynaccount.assumptions import CREDITNOTE_LINE_TABLE, CREDITNOTE_TABLE
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import (
    CreditLineIn,
    CreditNote,
    DebtorFields,
    Invoice,
    InvoiceHeader,
    LineIn,
    ProductFields,
)
from agent.journal import Journal
from agent.plan import CreditNotePlan, DebtorDecision, InvoicePlan, PaymentDecision, PlanLine, ProductSync
from agent.retry import ErrorKind
from agent.worker import WorkError

log = logging.getLogger(__name__)

# Columns a debtor can be found by in Dynaccount for each match key (equality filter, A-5).
MATCH_COLUMNS = {"email": "email", "vat_number": "vatno", "ean": "ean"}


@dataclass(frozen=True)
class Applied:
    summary: str
    invoice_id: int | None = None
    number: int | None = None


def unix(date: str | None, fallback: float) -> int:
    """WooCommerce's ``*_gmt`` dates (UTC without offset) as Unix seconds (A-16)."""
    if not date:
        return int(fallback)
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def invoice_lines(lines: Sequence[PlanLine]) -> list[LineIn]:
    return [
        LineIn(product_id_=line.product, name=line.name, qty=line.qty, price=line.unit_price,
               vatcode_name=line.vat_code, discount_percent=line.discount_percent)
        for line in lines
    ]  # fmt: skip


def credit_lines(lines: Sequence[PlanLine]) -> list[CreditLineIn]:
    return [
        CreditLineIn(qty=line.qty, product_id_=line.product, price=line.unit_price, vatcode_name=line.vat_code,
                     name=line.name, discount_percent=line.discount_percent)
        for line in lines
    ]  # fmt: skip


def _complete_creditnote(note: CreditNote, plan: CreditNotePlan) -> bool:
    return len(note.lines) == len(plan.lines) and note.total_amount == plan.totals.total


def _same_lines(invoice: Invoice, wanted: Sequence[LineIn]) -> bool:
    have = [(li.product_id_, li.qty, li.price, li.vatcode_name) for li in invoice.lines]
    want = [(li.product_id_, li.qty, li.price, li.vatcode_name) for li in wanted]
    return sorted(map(str, have)) == sorted(map(str, want))


class Applier:
    def __init__(
        self, journal: Journal, dyn: DynaccountClient, clock: Clock, *, payment_account: str, payment_draft: str
    ) -> None:
        self._journal = journal
        self._dyn = dyn
        self._clock = clock
        self._payment_account = payment_account
        self._payment_draft = payment_draft
        self._allocation_lock = asyncio.Lock()
        self._debtor_locks: dict[str, asyncio.Lock] = {}
        self._product_locks: dict[str, asyncio.Lock] = {}
        self.on_booked: Callable[[], None] | None = None  # a booking moves stock in Dynaccount

    def _booked(self) -> None:
        if self.on_booked is not None:
            self.on_booked()

    # -- debtors and products -------------------------------------------------------------------

    async def ensure_debtor(self, d: DebtorDecision) -> str:
        key = f"{d.kind}:{d.match_key}:{d.match_value}"
        fields = self._debtor_fields(d, "0")
        link = await self._journal.get_link("customer", key)
        if link and link.dyn_number and link.data.get("digest") == _digest(fields.model_dump()):
            return link.dyn_number  # known and unchanged: no call at all
        # One customer, one number, even for two orders of the same customer in parallel; other
        # customers only wait for each other while a new number is allocated.
        async with self._debtor_locks.setdefault(key, asyncio.Lock()):
            link = await self._journal.get_link("customer", key)
            number = str(d.number) if d.number else (link.dyn_number if link else None)
            number = number or await self._find_debtor(d)
            if number is None:
                async with self._allocation_lock:
                    number = await self._allocate(key, d.allocate_from)
        fields = self._debtor_fields(d, number)
        debtor = await self._dyn.upsert_debtor(fields)
        await self._journal.put_link(
            "customer", key, state="synced", dyn_id=debtor.id, dyn_number=number,
            data={"digest": _digest(self._debtor_fields(d, "0").model_dump())},
        )
        return number

    async def _find_debtor(self, d: DebtorDecision) -> str | None:
        column = MATCH_COLUMNS.get(d.match_key)
        if not column or not d.match_value:
            return None
        rows = await self._dyn.get("debtor", select=("id", "module_id_"), filters={column: d.match_value})
        return str(rows[0]["module_id_"]) if rows else None

    async def _allocate(self, key: str, start: int | None) -> str:
        """Next free debtor number; written to the journal before the debtor is created, so a retry
        after a crash creates (or finds) the same debtor instead of a second one."""
        numbers = [link.dyn_number or "" for link in await self._journal.list_links("customer")]
        used = [int(n) for n in numbers if n.isdigit()]
        number = max([(start or 10000) - 1, *used]) + 1
        while await self._dyn.find_debtor(str(number)) is not None:
            number += 1
        await self._journal.put_link("customer", key, state="allocated", dyn_number=number)
        return str(number)

    def _debtor_fields(self, d: DebtorDecision, number: str) -> DebtorFields:
        dlv = d.delivery
        return DebtorFields(
            module_id_=number, name=d.company or d.name, module_group_name=d.group,
            attention_name=d.attention or None, address=d.address or None, zip=d.zip or None, city=d.city or None,
            ref_country_name=d.country or None, phone=d.phone or None, email=d.email or None,
            email_invoice=d.email or None, vatno=d.vat_number or None, ean=d.ean or None, lang=d.language or None,
            ref_currency_name=d.currency or None, dlv_name=dlv.name if dlv else None,
            dlv_address=dlv.address if dlv else None, dlv_zip=dlv.zip if dlv else None,
            dlv_city=dlv.city if dlv else None, dlv_ref_country_name=dlv.country if dlv else None,
        )  # fmt: skip

    async def ensure_products(self, products: Sequence[ProductSync]) -> None:
        for p in products:
            lock = self._product_locks.setdefault(p.sku, asyncio.Lock())
            async with lock:
                await self._ensure_product(p)

    async def _ensure_product(self, p: ProductSync) -> None:
        digest = _digest([p.name, str(p.unit_price)])
        link = await self._journal.get_link("product", p.sku)
        if link and (not p.update or link.data.get("digest") == digest):
            return
        existing = await self._dyn.find_product(p.sku)
        if existing is None or p.update:
            existing = await self._dyn.upsert_product(ProductFields(product_id_=p.sku, name=p.name, price=p.unit_price))
        await self._journal.put_link("product", p.sku, state="synced", dyn_id=existing.id, dyn_number=p.sku,
                                     data={"digest": digest})  # fmt: skip

    # -- invoices ---------------------------------------------------------------------------------

    async def apply_invoice(self, plan: InvoicePlan, debtor_number: str) -> Invoice:
        header = self._header(plan, debtor_number)
        lines = invoice_lines(plan.lines)
        invoice = await self._existing_invoice(plan)
        if invoice is not None and invoice.is_booked and plan.refunds_netted:
            # Booked meanwhile: a plan netting refunds no longer applies; the refunds become credit notes.
            raise WorkError(f"invoice {invoice.number} was booked meanwhile; re-planning", ErrorKind.TRANSIENT)
        if invoice is None:
            await self._journal.start_intent(f"create-invoice:{plan.reference}")
            invoice = await self._dyn.create_invoice(header, lines, plan.reference)
            await self._journal.finish_intent(f"create-invoice:{plan.reference}", str(invoice.id))
        elif not invoice.is_booked and not _same_lines(invoice, lines):
            # A draft whose order changed, or whose lines an interrupted attempt left incomplete.
            invoice = await self._dyn.replace_invoice_lines(invoice.id, header, lines)
        await self._link_invoice(plan, invoice)
        if plan.mode == "booked" and not invoice.is_booked:
            await self._journal.start_intent(f"book-invoice:{plan.reference}")
            invoice = await self._dyn.book_invoice(invoice.id)  # A-20; harmless if repeated
            await self._journal.finish_intent(f"book-invoice:{plan.reference}", str(invoice.number))
            self._booked()
            await self._link_invoice(plan, invoice)
        return invoice

    async def _existing_invoice(self, plan: InvoicePlan) -> Invoice | None:
        link = await self._journal.get_link("order", plan.order_id)
        if link and link.dyn_id:
            return await self._dyn.get_invoice(int(link.dyn_id))
        if await self._journal.get_intent(f"create-invoice:{plan.reference}") is not None:
            # An earlier attempt may have created it and lost the answer: look before creating.
            return await self._dyn.find_invoice_by_reference(plan.reference)
        return None

    async def _link_invoice(self, plan: InvoicePlan, invoice: Invoice) -> None:
        await self._journal.put_link(
            "order", plan.order_id, state="booked" if invoice.is_booked else "draft", dyn_id=invoice.id,
            dyn_number=invoice.number, reference=plan.reference, amount=str(invoice.total_amount),
            data={"plan": plan.to_dict(), "vat": str(invoice.vat_amount)},
        )  # fmt: skip

    def _header(self, plan: InvoicePlan, debtor_number: str) -> InvoiceHeader:
        d, dlv = plan.debtor, plan.debtor.delivery
        return InvoiceHeader(
            module_id_=debtor_number, time=unix(plan.date, self._clock.now()), currency_name=plan.currency,
            payment_name=plan.payment_terms, lang=d.language or None, attention=d.attention or None,
            address=d.address or None, zip=d.zip or None, city=d.city or None, ref_country_name=d.country or None,
            dlv_name=dlv.name if dlv else None, dlv_address=dlv.address if dlv else None,
            dlv_zip=dlv.zip if dlv else None, dlv_city=dlv.city if dlv else None,
            dlv_ref_country_name=dlv.country if dlv else None, txt=plan.text,
        )  # fmt: skip

    # -- payments ---------------------------------------------------------------------------------

    async def register_payment(
        self, kind: str, woo_id: int, payment: PaymentDecision, invoice: Invoice, reference: str
    ) -> bool:
        """Register ``payment`` once; ``kind`` is payment (invoice) or payout (refund)."""
        if not payment.register or await self._journal.get_link(kind, woo_id) is not None:
            return False
        intent = f"register-{kind}:{reference}"
        if await self._journal.get_intent(intent) is not None:
            found = await self._dyn.find_payment_by_reference(reference)
            if found is not None and found.complete:
                await self._journal.put_link(kind, woo_id, state="registered", dyn_id=found.enclosure_id,
                                             reference=reference, amount=str(found.amount))  # fmt: skip
                return True
            if found is not None:
                await self._dyn.delete_payment(found.enclosure_id)
        await self._journal.start_intent(intent)
        amount = payment.amount if kind == "payment" else -payment.amount
        registered = await self._dyn.register_payment(
            invoice, amount, unix(payment.date, self._clock.now()), reference,
            bank_account=payment.account or self._payment_account, draft_name=self._payment_draft,
        )  # fmt: skip
        await self._journal.finish_intent(intent, str(registered.enclosure_id))
        await self._journal.put_link(kind, woo_id, state="registered", dyn_id=registered.enclosure_id,
                                     reference=reference, amount=str(amount))  # fmt: skip
        return True

    # -- credit notes -----------------------------------------------------------------------------

    async def apply_creditnote(self, plan: CreditNotePlan, invoice_id: int) -> CreditNote:
        note = await self._existing_creditnote(plan)
        if note is not None and not note.is_booked and not _complete_creditnote(note, plan):
            # An interrupted attempt left the header without (all) its lines: it is not booked, so it
            # can go, and the credit note is made again in one piece.
            await self._discard_creditnote(note)
            note = None
        if note is None:
            await self._journal.start_intent(f"create-creditnote:{plan.reference}")
            note = await self._dyn.create_creditnote(
                invoice_id, credit_lines(plan.lines), plan.reference, plan.text,
                time=unix(plan.date, self._clock.now()),
            )  # fmt: skip
            await self._journal.finish_intent(f"create-creditnote:{plan.reference}", str(note.id))
        await self._link_creditnote(plan, note)
        if plan.mode == "booked" and not note.is_booked:
            await self._journal.start_intent(f"book-creditnote:{plan.reference}")
            note = await self._dyn.book_creditnote(note.id)
            await self._journal.finish_intent(f"book-creditnote:{plan.reference}", str(note.number))
            self._booked()
            await self._link_creditnote(plan, note)
        return note

    async def _discard_creditnote(self, note: CreditNote) -> None:
        for line in note.lines:
            await self._dyn.delete(CREDITNOTE_LINE_TABLE, line.id)
        await self._dyn.delete(CREDITNOTE_TABLE, note.id)
        await self._journal.add_event(None, f"discarded incomplete credit note id {note.id} ({note.requisition})",
                                      level="warning")  # fmt: skip

    async def _existing_creditnote(self, plan: CreditNotePlan) -> CreditNote | None:
        link = await self._journal.get_link("refund", plan.refund_id)
        if link and link.dyn_id:
            return await self._dyn.get_creditnote(int(link.dyn_id))
        if await self._journal.get_intent(f"create-creditnote:{plan.reference}") is not None:
            return await self._dyn.find_creditnote_by_reference(plan.reference)
        return None

    async def _link_creditnote(self, plan: CreditNotePlan, note: CreditNote) -> None:
        await self._journal.put_link(
            "refund", plan.refund_id, state="booked" if note.is_booked else "draft", dyn_id=note.id,
            dyn_number=note.number, reference=plan.reference, amount=str(note.total_amount),
            data={"plan": plan.to_dict(), "order_id": plan.order_id},
        )  # fmt: skip


def decimal_or_zero(value: str | None) -> Decimal:
    return Decimal(value) if value else Decimal(0)
