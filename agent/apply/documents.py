"""Invoices, credit notes and payment registrations in Dynaccount, exactly once in effect.

Every non-idempotent call is preceded by an intent row. When an intent from an earlier attempt is
found (that attempt crashed or lost its response), the document is looked up by its deterministic
reference before anything is created again. Links (Woo id ↔ Dynaccount id/number) are stored as
soon as a document is known, so a later attempt never has to guess. The order's
:class:`~agent.journal.OrderFacts` are read once per run and kept current here, as every link and
intent of an order is written here.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from agent.apply.fields import (
    complete_creditnote,
    credit_lines,
    invoice_header,
    invoice_lines,
    same_lines,
    unix,
)
from agent.apply.masterdata import MasterData
from agent.apply.refindex import References
from agent.clock import Clock
from agent.dynaccount.assumptions import (
    CREDITNOTE_LINE_TABLE,
    CREDITNOTE_TABLE,
    INVOICE_LINE_TABLE,
    INVOICE_TABLE,
)
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import DynaccountRejected
from agent.dynaccount.models import CreditNote, Invoice
from agent.journal import Journal, Link, OrderFacts
from agent.outcomes import ErrorKind, WorkError
from agent.plan import CreditNotePlan, InvoicePlan, PaymentDecision
from agent.plan.verify import DocLine, verify

log = logging.getLogger(__name__)


class BookedHook(Protocol):
    """Told every time the applier sees a document booked (the mail outbox; idempotent by reference)."""

    async def __call__(self, kind: str, plan: dict[str, Any], document: Invoice | CreditNote) -> None: ...


class Applier(MasterData):
    def __init__(
        self, journal: Journal, dyn: DynaccountClient, clock: Clock, *, payment_account: str, payment_draft: str
    ) -> None:
        super().__init__(journal, dyn)
        self._clock = clock
        self._payment_account = payment_account
        self._payment_draft = payment_draft
        self.on_booked: BookedHook | None = None
        self.dimension = ""  # [shop] dimension_name on payment vouchers (set by the composition root)
        self.references: References | None = None  # the daemon's reference index (set by the composition root)

    async def booked(self, kind: str, plan: dict[str, Any], document: Invoice | CreditNote) -> None:
        """Called before the link says booked, so a crash in between repeats the call, never skips it."""
        if self.on_booked is not None and document.is_booked:
            await self.on_booked(kind, plan, document)

    async def get_invoice(self, invoice_id: int) -> Invoice:
        """A booked invoice's header: payments and credit notes need its id, number, debtor, currency and
        totals, never its lines (credit notes are planned from the stored plan's lines)."""
        return await self._dyn.get_invoice(invoice_id, lines=False)

    async def sync_booked(self, facts: OrderFacts) -> None:
        """Trust Dynaccount over the journal: an invoice booked after its link was last written (a crash
        or a lost answer right after booking, or a human booking a draft) is recorded as booked before
        planning, so refunds are credited, never netted into an invoice that can no longer change."""
        link = facts.invoice
        if link is None or not link.dyn_id or link.state == "booked":
            return
        current = await self._dyn.get_invoice(int(link.dyn_id), lines=False)  # only its booked state matters
        if current.is_booked:
            await self.booked("invoice", link.data.get("plan", {}), current)
            await self._put(facts, "order", facts.order_id, state="booked", dyn_id=current.id,
                            dyn_number=current.number, reference=link.reference, amount=str(current.total_amount),
                            data=link.data)  # fmt: skip

    async def _put(self, facts: OrderFacts, kind: str, woo_id: str | int, **fields: object) -> Link:
        link = await self._journal.put_link(facts.kind(kind), woo_id, order_id=facts.key, **fields)  # type: ignore[arg-type]
        facts.add(link)
        return link

    async def _start(self, facts: OrderFacts, intent: str) -> None:
        facts.intents[intent] = await self._journal.start_intent(intent, order_id=facts.key)

    async def _finish(self, facts: OrderFacts, intent: str, result: str) -> None:
        done = await self._journal.finish_intent(intent, result)
        if done is not None:
            facts.intents[intent] = done

    # -- invoices ---------------------------------------------------------------------------------

    async def apply_invoice(self, plan: InvoicePlan, debtor_number: str, facts: OrderFacts) -> Invoice:
        try:
            return await self._apply_invoice(plan, debtor_number, facts)
        except DynaccountRejected as exc:
            if not await self._forget_stale(plan, exc):
                raise
            log.info("invoice %s: Dynaccount refused a cached number (%s); writing it again", plan.reference, exc)
        # Once more with what Dynaccount has now. Nothing of the refused attempt stays (the header of
        # rejected lines is removed by the client), and the look-up by reference runs again first.
        debtor_number = await self.ensure_debtor(plan.debtor)
        await self.ensure_products(plan.products)
        return await self._apply_invoice(plan, debtor_number, facts)

    async def _forget_stale(self, plan: InvoicePlan, exc: DynaccountRejected) -> bool:
        """A debtor or product the journal knows was removed in Dynaccount (its number is refused):
        forget it, so it is written again. VAT codes are the planner's (re-read there)."""
        if "module_id_" in exc.field_errors:
            await self.forget_debtor(plan.debtor)
            return True
        lines = invoice_lines(plan.lines)
        skus = {lines[i].product_id_ for i, errors in exc.line_errors.items() if "product_id_" in errors
                and i < len(lines)}  # fmt: skip
        await self.forget_products(sorted(skus))
        return bool(skus)

    async def _apply_invoice(self, plan: InvoicePlan, debtor_number: str, facts: OrderFacts) -> Invoice:
        header = invoice_header(plan, debtor_number, self._clock.now())
        lines = invoice_lines(plan.lines)
        invoice = await self._existing_invoice(plan, facts)
        if invoice is not None and invoice.is_booked and plan.refunds_netted:
            # Booked meanwhile: a plan netting refunds no longer applies; the refunds become credit notes.
            raise WorkError(f"invoice {invoice.number} was booked meanwhile; re-planning", ErrorKind.TRANSIENT)
        if invoice is None:
            if self.references is not None:
                self.references.invoices.add(plan.reference)  # before the call: its answer may be lost
            await self._start(facts, f"create-invoice:{plan.reference}")
            invoice = await self._dyn.create_invoice(header, lines, plan.reference)  # read once: its totals
            await self._finish(facts, f"create-invoice:{plan.reference}", str(invoice.id))
        elif not invoice.is_booked and not same_lines(invoice, lines):
            # A draft whose order changed, or whose lines an interrupted attempt left incomplete.
            invoice = await self._dyn.replace_invoice_lines(invoice.id, header, lines)
        await self._link_invoice(plan, invoice, facts)
        if not invoice.is_booked:  # never book figures Dynaccount computed differently from the plan
            verify(f"invoice {plan.reference}", plan.lines, total=invoice.total_amount, vat=invoice.vat_amount,
                   doc_lines=[DocLine(li.vatcode_name, li.vat_amount) for li in invoice.lines])  # fmt: skip
        if plan.mode == "booked" and not invoice.is_booked:
            await self._start(facts, f"book-invoice:{plan.reference}")
            invoice = await self._dyn.book_invoice(invoice)  # A-20; harmless if repeated; its answer is the row
            await self._finish(facts, f"book-invoice:{plan.reference}", str(invoice.number))
            facts.seen_unbooked.add(plan.reference)
            await self._link_invoice(plan, invoice, facts)
        return invoice

    async def _existing_invoice(self, plan: InvoicePlan, facts: OrderFacts) -> Invoice | None:
        if facts.invoice and facts.invoice.dyn_id:
            invoice = await self._dyn.get_invoice(int(facts.invoice.dyn_id), lines=False)
            # A booked invoice's lines are not needed here; a draft's are compared and verified.
            return invoice if invoice.is_booked else await self._dyn.with_lines(invoice)
        # No link: an earlier attempt may have created it and lost the answer, or the journal itself
        # was lost (a restored backup, a reinstall): one look-up by reference before creating, unless the
        # complete reference index says no document of ours can carry it (agent.apply.refindex, A-44).
        if self.references is not None and not self.references.invoices.needs_lookup(plan.reference, facts.intents):
            return None
        return await self._dyn.find_invoice_by_reference(plan.reference)

    async def discard_unfinished_invoice(self, facts: OrderFacts) -> list[Invoice]:
        """The order needs no invoice (any more), but an interrupted attempt began one (its intent
        is there, its link is not): an unbooked document of ours is removed, so no empty or
        half-filled draft stays behind. Returns what was removed."""
        if facts.invoice is not None:
            return []  # a finished document: a human's to book or delete
        removed = []
        begun = [k for k, i in facts.intents.items() if k.startswith("create-invoice:") and i.result != "discarded"]
        for intent in begun:
            invoice = await self._dyn.find_invoice_by_reference(intent.partition(":")[2])
            if invoice is not None and invoice.is_booked:
                continue  # booked meanwhile (a human): never removed; the next plan links it
            if invoice is not None:
                for line in invoice.lines:
                    await self._dyn.delete(INVOICE_LINE_TABLE, line.id)
                await self._dyn.delete(INVOICE_TABLE, invoice.id)
                removed.append(invoice)
            await self._finish(facts, intent, "discarded")
        return removed

    async def _link_invoice(self, plan: InvoicePlan, invoice: Invoice, facts: OrderFacts) -> None:
        await self.booked("invoice", plan.to_dict(), invoice)
        await self._put(
            facts, "order", plan.order_id, state="booked" if invoice.is_booked else "draft", dyn_id=invoice.id,
            dyn_number=invoice.number, reference=plan.reference, amount=str(invoice.total_amount),
            data={"plan": plan.to_dict(), "vat": str(invoice.vat_amount)},
        )  # fmt: skip

    # -- payments ---------------------------------------------------------------------------------

    async def register_payment(self, facts: OrderFacts, kind: str, woo_id: int, payment: PaymentDecision,
                               invoice: Invoice, reference: str) -> bool:  # fmt: skip
        """Register ``payment`` once; ``kind`` is payment (invoice) or payout (refund)."""
        known = facts.payment if kind == "payment" else facts.payouts.get(int(woo_id))
        intent = f"register-{kind}:{reference}"
        if known is not None:
            return False
        if not payment.register:  # (no longer) to register: an interrupted attempt's voucher may be left
            return await self._settle_payment_attempt(facts, kind, woo_id, intent, reference)
        # No link: registered by an attempt that lost the answer, or before the journal was lost, unless
        # this pass saw the document unbooked and booked it: a voucher needs the booked number.
        fresh = reference.removesuffix(f"-{kind}") in facts.seen_unbooked and intent not in facts.intents
        found = None if fresh else await self._dyn.find_payment_by_reference(reference)
        if found is not None and found.complete:
            await self._put(facts, kind, woo_id, state="registered", dyn_id=found.enclosure_id,
                            reference=reference, amount=str(found.amount))  # fmt: skip
            return True
        if found is not None:  # a voucher without its rows: removed, then registered in one piece
            await self._dyn.delete_payment(found.enclosure_id)
        await self._start(facts, intent)
        amount = payment.amount if kind == "payment" else -payment.amount
        registered = await self._dyn.register_payment(
            invoice, amount, unix(payment.date, self._clock.now()), reference,
            bank_account=payment.account or self._payment_account, draft_name=self._payment_draft,
            dimension=self.dimension,
        )  # fmt: skip
        await self._finish(facts, intent, str(registered.enclosure_id))
        await self._put(facts, kind, woo_id, state="registered", dyn_id=registered.enclosure_id,
                        reference=reference, amount=str(amount))  # fmt: skip
        return True

    async def _settle_payment_attempt(self, facts: OrderFacts, kind: str, woo_id: int, intent: str,
                                      reference: str) -> bool:  # fmt: skip
        """An attempt began registering this payment and the plan no longer registers it: a complete
        voucher is what the books say (linked), a voucher without its rows is removed."""
        begun = facts.intents.get(intent)
        if begun is None or begun.state == "done":
            return False
        found = await self._dyn.find_payment_by_reference(reference)
        if found is not None and found.complete:
            await self._put(facts, kind, woo_id, state="registered", dyn_id=found.enclosure_id,
                            reference=reference, amount=str(found.amount))  # fmt: skip
            return True
        if found is not None:
            await self._dyn.delete_payment(found.enclosure_id)
        await self._finish(facts, intent, "discarded")
        return False

    # -- credit notes -----------------------------------------------------------------------------

    async def apply_creditnote(self, plan: CreditNotePlan, invoice_id: int, facts: OrderFacts) -> CreditNote:
        note = await self._existing_creditnote(plan, facts)
        if note is not None and not note.is_booked and not complete_creditnote(note, plan):
            # An interrupted attempt left the header without (all) its lines: it is not booked, so it
            # can go, and the credit note is made again in one piece.
            await self._discard_creditnote(note)
            note = None
        if note is None:
            if self.references is not None:
                self.references.creditnotes.add(plan.reference)
            await self._start(facts, f"create-creditnote:{plan.reference}")
            note = await self._dyn.create_creditnote(
                invoice_id, credit_lines(plan.lines), plan.reference, plan.text,
                time=unix(plan.date, self._clock.now()), dimension=plan.dimension,
            )  # fmt: skip
            await self._finish(facts, f"create-creditnote:{plan.reference}", str(note.id))
        await self._link_creditnote(plan, note, facts)
        if not note.is_booked:
            verify(f"credit note {plan.reference}", plan.lines, total=note.total_amount, vat=note.vat_amount,
                   doc_lines=[DocLine(li.vatcode_name, li.vat_amount) for li in note.lines])  # fmt: skip
        if plan.mode == "booked" and not note.is_booked:
            await self._start(facts, f"book-creditnote:{plan.reference}")
            note = await self._dyn.book_creditnote(note.id, note.lines)
            await self._finish(facts, f"book-creditnote:{plan.reference}", str(note.number))
            facts.seen_unbooked.add(plan.reference)
            await self._link_creditnote(plan, note, facts)
        return note

    async def _discard_creditnote(self, note: CreditNote) -> None:
        for line in note.lines:
            await self._dyn.delete(CREDITNOTE_LINE_TABLE, line.id)
        await self._dyn.delete(CREDITNOTE_TABLE, note.id)
        await self._journal.add_event(None, f"discarded incomplete credit note id {note.id} ({note.requisition})",
                                      level="warning")  # fmt: skip

    async def _existing_creditnote(self, plan: CreditNotePlan, facts: OrderFacts) -> CreditNote | None:
        link = facts.refunds.get(plan.refund_id)
        if link and link.dyn_id:
            return await self._dyn.get_creditnote(int(link.dyn_id))
        if self.references is not None and not self.references.creditnotes.needs_lookup(plan.reference, facts.intents):
            return None  # the complete index: no document of ours carries it
        return await self._dyn.find_creditnote_by_reference(plan.reference)  # no link: look before creating

    async def _link_creditnote(self, plan: CreditNotePlan, note: CreditNote, facts: OrderFacts) -> None:
        await self.booked("creditnote", plan.to_dict(), note)
        await self._put(
            facts, "refund", plan.refund_id, state="booked" if note.is_booked else "draft", dyn_id=note.id,
            dyn_number=note.number, reference=plan.reference, amount=str(note.total_amount),
            data={"plan": plan.to_dict(), "order_id": plan.order_id},
        )  # fmt: skip

    # -- refunds WooCommerce changed ----------------------------------------------------------------

    async def mark_netted(self, facts: OrderFacts, refund_id: int, invoice: Invoice) -> None:
        """The draft invoice was booked net of this refund: crediting it again would count it twice."""
        await self._put(facts, "refund", refund_id, state="netted", reference=f"netted into {invoice.number}",
                        data={"order_id": facts.order_id})  # fmt: skip

    async def mark_deleted(self, facts: OrderFacts, link: Link) -> None:
        """A credited refund was deleted in WooCommerce (no webhook says so): kept, marked for a human."""
        await self._put(facts, "refund", link.woo_id, state="deleted_in_woo", dyn_id=link.dyn_id,
                        dyn_number=link.dyn_number, reference=link.reference, amount=link.amount,
                        data=link.data)  # fmt: skip
