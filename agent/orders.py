"""Work for ``order:<id>``, in two phases: read, then plan and apply.

The order and its refunds are loaded from WooCommerce's REST API each time (the webhook body is only
a hint) and everything the journal knows about the order comes from one call (``order_facts``). The
planner is pure; the applier makes every Dynaccount call and every link and intent write. The
snapshot acted on is stored with the plan, and every decision lands in the item's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agent.apply import Applier
from agent.apply.vatcodes import VatCodes
from agent.approvals import ApprovalContext, Approvals, book_as_planned
from agent.dynaccount.errors import DynaccountRejected
from agent.dynaccount.models import Invoice
from agent.journal import Journal, Link, OrderFacts, WorkItem
from agent.journal.worklist import Summary, WorkListJournal
from agent.keyedlock import KeyedLock
from agent.outcomes import Outcome, Progressed
from agent.plan import (
    CreditNoteContext,
    CreditNotePlan,
    ExistingInvoice,
    InvoiceContext,
    InvoicePlan,
    InvoiceState,
    PlanLine,
    PlanSettings,
    Skip,
    plan_creditnote,
    plan_invoice,
    record_credit,
    references,
)
from agent.plan.payment import invoice_payment
from agent.plan.types import PaymentDecision, Subscription, Totals
from agent.plan.verify import VerificationFailed
from agent.subscriptions import subscription_of
from agent.woo.client import WooClient
from agent.woo.errors import WooNotFound
from agent.woo.fingerprint import order_fingerprint
from agent.woo.models import Order, Refund

log = logging.getLogger(__name__)


@dataclass
class OrderRun:
    """What one pass over an order did, for the outcome's reason."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the plan says there is nothing to do yet
    waiting: list[str] = field(default_factory=list)  # refunds waiting for their invoice to be booked
    held: list[str] = field(default_factory=list)

    def outcome(self) -> Outcome:
        if self.held:
            return Outcome("held", "; ".join(self.held + self.done))
        if self.waiting:  # not done until a human books the invoice; the drafts watch looks again
            return Outcome("waiting", "; ".join(self.done + self.skipped + self.waiting))
        if not self.done and self.skipped:
            return Outcome("skipped", "; ".join(self.skipped))
        return Outcome("done", "; ".join(self.done + self.skipped + self.waiting) or None)


class OrderProcessor:
    def __init__(self, journal: Journal, woo: WooClient, applier: Applier, settings: PlanSettings,
                 vat_codes: VatCodes | None = None, approvals: Approvals | None = None) -> None:  # fmt: skip
        self._journal = journal
        self._woo = woo
        self.applier = applier
        self._settings = settings
        self._orders = KeyedLock()
        self._vat_codes = vat_codes  # Dynaccount's codes and rates; None: plans are not checked against them
        self._approvals = approvals or Approvals(journal)
        self._worklist = WorkListJournal(journal)

    async def _rates(self) -> Mapping[str, Decimal] | None:
        return await self._vat_codes.rates() if self._vat_codes is not None else None

    async def __call__(self, item: WorkItem) -> Outcome:
        # One order is applied by one task at a time in this process, whatever work key named it
        # (an item written under an alias key before ids were canonical would otherwise book twice).
        async with self._orders.hold(int(item.resource_id)):
            return await self._process(item)

    async def _process(self, item: WorkItem) -> Outcome:
        try:
            order = await self._woo.get_order(int(item.resource_id))
        except WooNotFound:
            return await self._outcome(item.key, Outcome("skipped", "the order no longer exists in WooCommerce"))
        await self._journal.acted_on(item.key, order_fingerprint(order))
        await self._worklist.record(item.key, summary(order))
        decisions = await self._approvals.context(item.key, self._settings)
        dismissed = decisions.dismissed(order)
        if dismissed is not None:
            why = f"dismissed by {dismissed.by}: {dismissed.reason}; nothing booked"
            return await self._outcome(item.key, Outcome("done", why))
        refunds = await self._woo.list_refunds(order.id) if order.refunds else []
        refunds.sort(key=lambda r: r.id)  # WooCommerce lists newest first; credit in order of creation
        facts = await self._journal.order_facts(order.id)
        before = progress_marks(facts)
        try:
            return await self.run(item.key, order, refunds, facts, decisions)
        except Exception as exc:
            got = sorted(progress_marks(facts) - before)
            if got:  # the applier keeps ``facts`` current, so this is what this pass recorded
                raise Progressed(", ".join(got)) from exc
            raise

    async def run(self, key: str, order: Order, refunds: list[Refund], facts: OrderFacts,
                  decisions: ApprovalContext | None = None) -> Outcome:  # fmt: skip
        """Plan and apply one loaded order (from WooCommerce, or from a file: agent/files/processor.py);
        ``decisions``: what humans decided about the item (read here when the caller did not)."""
        decisions = decisions or await self._approvals.context(key, self._settings)
        run = OrderRun()
        invoice = await self._invoice(key, order, refunds, facts, run, decisions)
        if invoice is not None and invoice.is_booked:
            await self._refunds(key, order, refunds, invoice, facts, run)
        elif invoice is not None and refunds:
            waiting = [r.id for r in refunds if r.id not in _netted(facts)]
            if waiting:
                run.waiting.append(f"refund(s) {waiting} wait until invoice id {invoice.id} is booked")
        await self._deleted_refunds(key, order, facts)
        return await self._outcome(key, run.outcome())

    async def _outcome(self, key: str, outcome: Outcome) -> Outcome:
        level = "warning" if outcome.state == "held" else "info"
        await self._journal.add_event(key, f"{outcome.state}: {outcome.reason or ''}".strip(": "), level=level)
        return outcome

    # -- the invoice ------------------------------------------------------------------------------

    def plan(self, order: Order, refunds: list[Refund], facts: OrderFacts, codes: Mapping[str, Decimal] | None = None,
             subscription: Subscription | None = None,
             settings: PlanSettings | None = None) -> InvoicePlan | Skip:  # fmt: skip
        """``settings``: the config's, or with the mappings edited on the page (:class:`ApprovalContext`)."""
        settings = settings or self._settings
        link = facts.invoice
        existing = ExistingInvoice(link.reference or "", link.state == "booked") if link else None
        net_refunds = tuple(refunds) if existing is not None and not existing.booked else ()
        if settings.refunds.draft_policy != "update_draft":
            net_refunds = ()
        reference = references.known_invoice(settings, order.id, order.number or str(order.id),
                                             link.reference if link else None, facts.intents)  # fmt: skip
        context = InvoiceContext(invoice=existing, payment_registered=facts.payment is not None, refunds=net_refunds,
                                 vat_codes=codes, subscription=subscription, reference=reference)  # fmt: skip
        return plan_invoice(order, settings, context)

    async def plan_checked(self, order: Order, refunds: list[Refund], facts: OrderFacts,
                           settings: PlanSettings | None = None) -> InvoicePlan | Skip:  # fmt: skip
        """The plan against Dynaccount's VAT codes and the subscription's schedule (worker and `plan` command)."""
        subscription = await subscription_of(self._woo, order)
        plan = self.plan(order, refunds, facts, await self._rates(), subscription, settings)
        if isinstance(plan, Skip) and plan.missing_vat_code and self._vat_codes is not None:
            # A code created in Dynaccount since the codes were read: read them again once before holding.
            plan = self.plan(order, refunds, facts, await self._vat_codes.refresh(), subscription, settings)
        return plan

    async def _invoice(self, key: str, order: Order, refunds: list[Refund], facts: OrderFacts, run: OrderRun,
                       decisions: ApprovalContext, *, retried: bool = False) -> Invoice | None:  # fmt: skip
        await self.applier.sync_booked(facts)
        plan = await self.plan_checked(order, refunds, facts, decisions.settings)
        plan = await self._released(key, order, facts, decisions, plan)
        await self._journal.save_snapshot(key, order.model_dump(mode="json"), plan.to_dict())
        if isinstance(plan, Skip):
            if plan.kind == "done" and facts.invoice is not None and facts.invoice.dyn_id:
                invoice = await self._booked_invoice(order, refunds, facts)
                await self._late_payment(order, facts, invoice, run)
                run.done.append(f"invoice {invoice.number} already booked")
                return invoice
            for removed in await self.applier.discard_unfinished_invoice(facts):
                run.done.append(f"removed unfinished draft invoice id {removed.id} ({removed.requisition})")
            (run.held if plan.kind == "hold" else run.skipped).append(plan.reason)
            return None
        debtor = await self.applier.ensure_debtor(plan.debtor)
        await self.applier.ensure_products(plan.products)
        try:
            invoice = await self.applier.apply_invoice(plan, debtor, facts)
        except VerificationFailed as failed:
            run.held.append(str(failed))
            if self._vat_codes is not None:
                await self._vat_codes.refresh()  # a code's rate may have changed: the next plan sees it
            return None
        except DynaccountRejected as exc:
            # A VAT code the cache knows was refused (renamed or removed in Dynaccount): read the codes
            # again and plan once more, which holds the order with the reason if the code is gone.
            if retried or self._vat_codes is None or not _refused_vat_code(exc):
                raise
            await self._vat_codes.refresh()
            return await self._invoice(key, order, refunds, facts, run, decisions, retried=True)
        what = f"invoice {invoice.number} booked" if invoice.is_booked else f"draft invoice id {invoice.id}"
        if plan.refunds_netted:  # [refunds] draft_policy = update_draft: say so, the order may read "refunded"
            what += f" net of refund(s) {', '.join(map(str, plan.refunds_netted))}"
        run.done.append(f"{what}, total {invoice.total_amount} {plan.currency}")
        await self._journal.add_event(key, f"{what} for debtor {debtor}", data={"total": str(invoice.total_amount)})
        if plan.held:
            run.held.append(plan.held)
        if invoice.is_booked and await self.applier.register_payment(
            facts, "payment", order.id, plan.payment, invoice, self._voucher(facts, "payment", order.id, plan.reference)
        ):
            run.done.append(f"payment {plan.payment.amount} registered")
        return invoice

    async def _released(self, key: str, order: Order, facts: OrderFacts, decisions: ApprovalContext,
                        plan: InvoicePlan | Skip) -> InvoicePlan | Skip:  # fmt: skip
        """A held plan a human approved (and that is still the same plan) is booked as planned."""
        approval = decisions.approved(plan) if isinstance(plan, InvoicePlan) and plan.held else None
        if approval is None or not isinstance(plan, InvoicePlan):
            return plan
        await self._journal.add_event(key, f"booking as planned: approved by {approval.by}")
        return book_as_planned(plan, order, decisions.settings, facts.payment is not None)

    async def _late_payment(self, order: Order, facts: OrderFacts, invoice: Invoice, run: OrderRun) -> None:
        """A booked invoice whose payment becomes due later (bank transfer marked paid, COD completed)."""
        link = facts.invoice
        assert link is not None
        decision = self._late_decision(order, facts)
        reference = self._voucher(facts, "payment", order.id, link.reference or "")
        if await self.applier.register_payment(facts, "payment", order.id, decision, invoice, reference):
            run.done.append(f"payment {decision.amount} registered")

    def _voucher(self, facts: OrderFacts, kind: str, woo_id: int, document_reference: str) -> str:
        """A payment (payout) voucher's reference, through the one reference module."""
        known = facts.payment if kind == "payment" else facts.payouts.get(woo_id)
        return references.payment_of(self._settings, kind, document_reference, woo_id,
                                     known.reference if known else None, facts.intents)  # fmt: skip

    def _late_decision(self, order: Order, facts: OrderFacts) -> PaymentDecision:
        link = facts.invoice
        assert link is not None
        return invoice_payment(order, self._settings, mode="booked", held=None, registered=False,
                               amount=Decimal(link.amount or "0"))  # fmt: skip

    async def _booked_invoice(self, order: Order, refunds: list[Refund], facts: OrderFacts) -> Invoice:
        """The booked invoice of a finished order, read from Dynaccount only if this pass has work for it
        (a payment or a refund not yet in the books); else as the link recorded it, so a re-run of a done
        order (a late delivery, the sweep's overlap window) makes no call."""
        link = facts.invoice
        assert link is not None and link.dyn_id
        payment_due = facts.payment is None and self._late_decision(order, facts).register
        if payment_due or not all(_refund_settled(r.id, facts) for r in refunds):
            return await self.applier.get_invoice(int(link.dyn_id))
        return Invoice(id=int(link.dyn_id), invoice_id_=int(link.dyn_number) if link.dyn_number else None,
                       requisition=link.reference or "", is_booked=True, total_amount=Decimal(link.amount or "0"),
                       vat_amount=Decimal(str(link.data.get("vat", "0"))))  # fmt: skip

    # -- refunds ----------------------------------------------------------------------------------

    def invoice_state(self, facts: OrderFacts, invoice: Invoice, *, planning: int | None = None) -> InvoiceState | None:
        """The invoice as booked and what earlier credit notes took from it; ``planning`` (a refund id)
        is left out, so a refund whose credit note an interrupted attempt already started is planned
        again exactly as before instead of against itself."""
        link = facts.invoice
        if link is None or "plan" not in link.data:
            return None
        state = InvoiceState(
            reference=link.reference or "", booked=invoice.is_booked,
            lines=tuple(PlanLine.from_dict(line) for line in link.data["plan"].get("lines", [])),
            total=invoice.total_amount, payment_registered=facts.payment is not None,
            payment_method=str(link.data["plan"].get("payment", {}).get("method", "")),
        )  # fmt: skip
        credited = sorted((_creditnote_plan(r.data["plan"]) for r in facts.refunds.values() if "plan" in r.data),
                          key=lambda p: p.refund_id)  # fmt: skip
        for plan in credited:
            if plan.refund_id != planning:
                state = record_credit(state, plan)
        return state

    async def _refunds(self, key: str, order: Order, refunds: list[Refund], invoice: Invoice, facts: OrderFacts,
                       run: OrderRun) -> None:  # fmt: skip
        netted = _netted(facts)
        for refund in refunds:
            link = facts.refunds.get(refund.id)
            if link is not None and link.state in ("booked", "netted"):
                if link.state == "booked":  # a payout an interrupted pass did not finish
                    await self._late_payout(facts, refund.id, link, invoice, run)
                continue
            if refund.id in netted:
                await self.applier.mark_netted(facts, refund.id, invoice)
                run.done.append(f"refund {refund.id} was netted into invoice {invoice.number}")
                continue
            state = self.invoice_state(facts, invoice, planning=refund.id)
            known = references.known_creditnote(self._settings, refund.id, link.reference if link else None,
                                                facts.intents)  # fmt: skip
            plan = plan_creditnote(order, refund, self._settings, CreditNoteContext(
                invoice=state, already_credited=False, vat_codes=await self._rates(), reference=known))  # fmt: skip
            await self._journal.save_snapshot(f"refund:{refund.id}", refund.model_dump(mode="json"), plan.to_dict())
            if isinstance(plan, Skip):
                (run.held if plan.kind == "hold" else run.skipped).append(plan.reason)
                continue
            try:
                note = await self.applier.apply_creditnote(plan, invoice.id, facts)
            except VerificationFailed as failed:
                run.held.append(str(failed))
                continue
            run.done.append(f"credit note {note.number or note.id} of {note.total_amount} for refund {refund.id}")
            await self._journal.add_event(key, f"credit note for refund {refund.id}: {note.total_amount}",
                                          data={"reference": plan.reference})  # fmt: skip
            payout_ref = self._voucher(facts, "payout", refund.id, plan.reference)
            if await self.applier.register_payment(facts, "payout", refund.id, plan.payout, invoice, payout_ref):
                run.done.append(f"refund payout {plan.payout.amount} registered")

    async def _late_payout(self, facts: OrderFacts, refund_id: int, link: Link, invoice: Invoice,
                           run: OrderRun) -> None:  # fmt: skip
        """The credit note is booked but the pass that booked it failed before its payout was
        registered: register it now, as the stored plan decided (never a second time)."""
        stored = link.data.get("plan", {}).get("payout")
        if refund_id in facts.payouts or not stored or not stored.get("register"):
            return
        payout = PaymentDecision(**{**stored, "amount": Decimal(str(stored["amount"]))})
        reference = self._voucher(facts, "payout", refund_id, link.reference or "")
        if await self.applier.register_payment(facts, "payout", refund_id, payout, invoice, reference):
            run.done.append(f"refund payout {payout.amount} registered")

    async def _deleted_refunds(self, key: str, order: Order, facts: OrderFacts) -> None:
        """Deleting a refund sends no webhook; a credited refund missing from the order needs a human."""
        present = {r.id for r in order.refunds}
        for link in list(facts.refunds.values()):
            if int(link.woo_id) not in present and link.state != "deleted_in_woo":
                await self.applier.mark_deleted(facts, link)
                await self._journal.add_event(
                    key, f"refund {link.woo_id} was deleted in WooCommerce after credit note "
                    f"{link.dyn_number or link.dyn_id} was made: needs attention", level="warning",
                )  # fmt: skip


def progress_marks(facts: OrderFacts) -> set[str]:
    """What a pass over an order has achieved, as the journal records it: each link of the order in
    its state (a document created, booked, a payment registered, a refund credited or netted) and
    each finished intent. A pass made progress when this set gained a member; an intent merely
    started, or a call that failed before anything was recorded, is no progress."""
    links = [facts.invoice, facts.payment, *facts.refunds.values(), *facts.payouts.values()]
    marks = {f"{link.kind} {link.woo_id} {link.state} id {link.dyn_id}" for link in links if link is not None}
    return marks | {f"{intent.key} done" for intent in facts.intents.values() if intent.state == "done"}


def summary(order: Order) -> Summary:
    """What the bookkeeper's work list shows of an order."""
    b = order.billing
    customer = b.company or f"{b.first_name} {b.last_name}".strip() or b.email or f"customer {order.customer_id}"
    return Summary(order.number or str(order.id), order.date_created_gmt or "", customer, b.email or "",
                   str(order.total), order.currency)  # fmt: skip


def _refund_settled(refund_id: int, facts: OrderFacts) -> bool:
    """Nothing of the refund is left for Dynaccount: credited (its payout registered or not to be), or
    netted into the draft invoice (only the journal then learns so)."""
    link = facts.refunds.get(refund_id)
    if link is not None and link.state == "booked":
        payout = link.data.get("plan", {}).get("payout") or {}
        return refund_id in facts.payouts or not payout.get("register")
    return (link is not None and link.state == "netted") or refund_id in _netted(facts)


def _refused_vat_code(exc: DynaccountRejected) -> bool:
    return any("vatcode_name" in errors for errors in exc.line_errors.values()) or "vatcode_name" in exc.field_errors


def _netted(facts: OrderFacts) -> set[int]:
    """Refunds already taken off the invoice while it was a draft (refunds.draft_policy = update_draft)."""
    plan = facts.invoice.data.get("plan", {}) if facts.invoice else {}
    return {int(r) for r in plan.get("refunds_netted", [])}


def _creditnote_plan(data: dict[str, Any]) -> CreditNotePlan:
    """Enough of a stored credit-note plan for ``record_credit`` (lines and total)."""
    totals = Totals(**{k: Decimal(v) for k, v in data["totals"].items()})
    return CreditNotePlan(
        order_id=data["order_id"], refund_id=data["refund_id"], reference=data["reference"],
        invoice_reference=data["invoice_reference"], text=data["text"], date=data.get("date"), mode=data["mode"],
        full_refund=data["full_refund"], lines=tuple(PlanLine.from_dict(li) for li in data["lines"]),
        totals=totals, payout=PaymentDecision(register=False, reason="stored"),
    )  # fmt: skip
