"""Work for ``order:<id>``: load the current order, plan, apply, record why.

The webhook body is only a hint: the order and its refunds are loaded from WooCommerce's REST API
each time, the snapshot acted on is stored with the plan, and every decision lands in the
item's timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent.apply import Applier
from agent.approvals import Approvals, book_as_planned
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.errors import (
    DynaccountAuthError,
    DynaccountConnectionError,
    DynaccountError,
    DynaccountUnavailable,
)
from agent.dynaccount.models import Invoice
from agent.journal import Journal, Link, WorkItem
from agent.journal_worklist import Summary, WorkListJournal
from agent.plan import (
    CreditNoteContext,
    CreditNotePlan,
    ExistingInvoice,
    InvoiceContext,
    InvoicePlan,
    InvoiceState,
    PlanSettings,
    Skip,
    plan_creditnote,
    plan_invoice,
    record_credit,
)
from agent.plan.payment import invoice_payment
from agent.retry import ErrorKind
from agent.woo.client import WooClient
from agent.woo.errors import WooAuthError, WooConnectionError, WooError, WooNotFound, WooUnavailable
from agent.woo.models import Order, Refund
from agent.worker import Outcome, WorkError

log = logging.getLogger(__name__)


def classify(exc: BaseException) -> tuple[ErrorKind, float | None]:
    """Map the client libraries' exception families onto the worker's retry policy."""
    if isinstance(exc, WorkError):
        return exc.kind, exc.retry_after
    if isinstance(exc, DynaccountAuthError | WooAuthError):
        return ErrorKind.AUTH, None
    if isinstance(exc, DynaccountUnavailable | WooUnavailable):
        return ErrorKind.TRANSIENT, exc.retry_after
    if isinstance(exc, DynaccountConnectionError | WooConnectionError | TimeoutError | ConnectionError):
        return ErrorKind.TRANSIENT, None
    if isinstance(exc, DynaccountError) and exc.maybe_committed:
        return ErrorKind.TRANSIENT, None  # the next attempt looks the document up by its reference
    return ErrorKind.PERMANENT, None


@dataclass
class OrderRun:
    """What one pass over an order did, for the outcome's reason."""

    done: list[str]
    waiting: list[str]
    held: list[str]


class OrderProcessor:
    def __init__(self, journal: Journal, woo: WooClient, dyn: DynaccountClient, applier: Applier,
                 settings: PlanSettings, approvals: Approvals | None = None) -> None:  # fmt: skip
        self._journal = journal
        self._woo = woo
        self._dyn = dyn
        self._apply = applier
        self._settings = settings
        self._approvals = approvals or Approvals(journal)
        self._worklist = WorkListJournal(journal)

    async def __call__(self, item: WorkItem) -> Outcome:
        try:
            order = await self._woo.get_order(int(item.resource_id))
        except WooNotFound:
            return await self._outcome(item.key, Outcome("skipped", "the order no longer exists in WooCommerce"))
        await self._worklist.record(item.key, summary(order))
        dismissed = await self._approvals.dismissed(item.key, order)
        if dismissed is not None:
            why = f"dismissed by {dismissed.by}: {dismissed.reason}; nothing booked"
            return await self._outcome(item.key, Outcome("done", why))
        refunds = await self._woo.list_refunds(order.id) if order.refunds else []
        refunds.sort(key=lambda r: r.id)  # WooCommerce lists newest first; credit in order of creation
        run = OrderRun([], [], [])
        invoice = await self._invoice(item.key, order, refunds, run)
        if invoice is not None and invoice.is_booked:
            await self._refunds(item.key, order, refunds, invoice, run)
        elif invoice is not None and refunds:
            netted = await self._netted(order.id)
            waiting = [r.id for r in refunds if r.id not in netted]
            if waiting:
                run.waiting.append(f"refund(s) {waiting} wait until invoice id {invoice.id} is booked")
        await self._deleted_refunds(item.key, order)
        return await self._outcome(item.key, self._summarise(run))

    def _summarise(self, run: OrderRun) -> Outcome:
        if run.held:
            return Outcome("held", "; ".join(run.held + run.done))
        if run.waiting and not run.done:
            return Outcome("skipped", "; ".join(run.waiting))
        return Outcome("done", "; ".join(run.done + run.waiting) or None)

    async def _outcome(self, key: str, outcome: Outcome) -> Outcome:
        level = "warning" if outcome.state == "held" else "info"
        await self._journal.add_event(key, f"{outcome.state}: {outcome.reason or ''}".strip(": "), level=level)
        return outcome

    # -- the invoice ------------------------------------------------------------------------------

    async def plan(self, order: Order, refunds: list[Refund]) -> InvoicePlan | Skip:
        link = await self._journal.get_link("order", order.id)
        existing = ExistingInvoice(link.reference or "", link.state == "booked") if link else None
        net_refunds = tuple(refunds) if existing is not None and not existing.booked else ()
        if self._settings.refunds.draft_policy != "update_draft":
            net_refunds = ()
        context = InvoiceContext(
            invoice=existing, payment_registered=await self._journal.get_link("payment", order.id) is not None,
            refunds=net_refunds,
        )
        return plan_invoice(order, await self._approvals.settings(self._settings), context)

    async def _sync_booked(self, order_id: int) -> None:
        """Trust Dynaccount over the journal: an invoice booked after its link was last written (a crash
        or a lost answer right after booking, or a human booking a draft) is recorded as booked before
        planning, so refunds are credited, never netted into an invoice that can no longer change."""
        link = await self._journal.get_link("order", order_id)
        if link is None or not link.dyn_id or link.state == "booked":
            return
        current = await self._dyn.get_invoice(int(link.dyn_id))
        if current.is_booked:
            await self._journal.put_link(
                "order", order_id, state="booked", dyn_id=current.id, dyn_number=current.number,
                reference=link.reference, amount=str(current.total_amount), data=link.data,
            )  # fmt: skip

    async def _invoice(self, key: str, order: Order, refunds: list[Refund], run: OrderRun) -> Invoice | None:
        await self._sync_booked(order.id)
        plan = await self._released(key, order, await self.plan(order, refunds))
        await self._journal.save_snapshot(key, order.model_dump(mode="json"), plan.to_dict())
        link = await self._journal.get_link("order", order.id)
        if isinstance(plan, Skip):
            if plan.kind == "done" and link is not None and link.dyn_id:
                invoice = await self._dyn.get_invoice(int(link.dyn_id))
                await self._late_payment(order, link, invoice, run)
                run.done.append(f"invoice {invoice.number} already booked")
                return invoice
            (run.held if plan.kind == "hold" else run.waiting).append(plan.reason)
            return None
        debtor = await self._apply.ensure_debtor(plan.debtor)
        await self._apply.ensure_products(plan.products)
        invoice = await self._apply.apply_invoice(plan, debtor)
        what = f"invoice {invoice.number} booked" if invoice.is_booked else f"draft invoice id {invoice.id}"
        run.done.append(f"{what}, total {invoice.total_amount} {plan.currency}")
        await self._journal.add_event(key, f"{what} for debtor {debtor}", data={"total": str(invoice.total_amount)})
        if plan.held:
            run.held.append(plan.held)
        if invoice.is_booked and await self._apply.register_payment(
            "payment", order.id, plan.payment, invoice, f"{plan.reference}-payment"
        ):
            run.done.append(f"payment {plan.payment.amount} registered")
        return invoice

    async def _released(self, key: str, order: Order, plan: InvoicePlan | Skip) -> InvoicePlan | Skip:
        """A held plan a human approved (and that is still the same plan) is booked as planned."""
        if not isinstance(plan, InvoicePlan) or not plan.held:
            return plan
        approval = await self._approvals.approved(key, plan)
        if approval is None:
            return plan
        await self._journal.add_event(key, f"booking as planned: approved by {approval.by}")
        registered = await self._journal.get_link("payment", order.id) is not None
        return book_as_planned(plan, order, await self._approvals.settings(self._settings), registered)

    async def _late_payment(self, order: Order, link: Link, invoice: Invoice, run: OrderRun) -> None:
        """A booked invoice whose payment becomes due later (bank transfer marked paid, COD completed)."""
        decision = invoice_payment(order, self._settings, mode="booked", held=None, registered=False,
                                   amount=Decimal(link.amount or "0"))  # fmt: skip
        reference = f"{link.reference}-payment"
        if await self._apply.register_payment("payment", order.id, decision, invoice, reference):
            run.done.append(f"payment {decision.amount} registered")

    # -- refunds ----------------------------------------------------------------------------------

    async def invoice_state(
        self, order_id: int, invoice: Invoice, *, planning: int | None = None
    ) -> InvoiceState | None:
        """The invoice as booked and what earlier credit notes took from it; ``planning`` (a refund id)
        is left out, so a refund whose credit note an interrupted attempt already started is planned
        again exactly as before instead of against itself."""
        link = await self._journal.get_link("order", order_id)
        if link is None or "plan" not in link.data:
            return None
        plan = _invoice_plan_lines(link.data["plan"])
        state = InvoiceState(
            reference=link.reference or "", booked=invoice.is_booked, lines=plan, total=invoice.total_amount,
            payment_registered=await self._journal.get_link("payment", order_id) is not None,
            payment_method=str(link.data["plan"].get("payment", {}).get("method", "")),
        )
        for credited in await self._credited(order_id):
            if credited.refund_id != planning:
                state = record_credit(state, credited)
        return state

    async def _credited(self, order_id: int) -> list[CreditNotePlan]:
        plans = []
        for link in await self._journal.list_links("refund"):
            if link.data.get("order_id") == order_id and "plan" in link.data:
                plans.append(_creditnote_plan(link.data["plan"]))
        return sorted(plans, key=lambda p: p.refund_id)

    async def _netted(self, order_id: int) -> set[int]:
        """Refunds already taken off the invoice while it was a draft (refunds.draft_policy = update_draft)."""
        link = await self._journal.get_link("order", order_id)
        plan = link.data.get("plan", {}) if link else {}
        return {int(r) for r in plan.get("refunds_netted", [])}

    async def _refunds(self, key: str, order: Order, refunds: list[Refund], invoice: Invoice, run: OrderRun) -> None:
        netted = await self._netted(order.id)
        for refund in refunds:
            link = await self._journal.get_link("refund", refund.id)
            if link is not None and link.state in ("booked", "netted"):
                continue
            if refund.id in netted:
                # The draft invoice was booked net of this refund: crediting it again would count it twice.
                await self._journal.put_link("refund", refund.id, state="netted", reference=f"netted into "
                                             f"{invoice.number}", data={"order_id": order.id})  # fmt: skip
                run.done.append(f"refund {refund.id} was netted into invoice {invoice.number}")
                continue
            state = await self.invoice_state(order.id, invoice, planning=refund.id)
            plan = plan_creditnote(order, refund, self._settings,
                                   CreditNoteContext(invoice=state, already_credited=False))  # fmt: skip
            await self._journal.save_snapshot(f"refund:{refund.id}", refund.model_dump(mode="json"), plan.to_dict())
            if isinstance(plan, Skip):
                (run.held if plan.kind == "hold" else run.waiting).append(plan.reason)
                continue
            note = await self._apply.apply_creditnote(plan, invoice.id)
            run.done.append(f"credit note {note.number or note.id} of {note.total_amount} for refund {refund.id}")
            await self._journal.add_event(key, f"credit note for refund {refund.id}: {note.total_amount}",
                                          data={"reference": plan.reference})  # fmt: skip
            payout_ref = f"{plan.reference}-payout"
            if await self._apply.register_payment("payout", refund.id, plan.payout, invoice, payout_ref):
                run.done.append(f"refund payout {plan.payout.amount} registered")

    async def _deleted_refunds(self, key: str, order: Order) -> None:
        """Deleting a refund sends no webhook; a credited refund missing from the order needs a human."""
        present = {r.id for r in order.refunds}
        for link in await self._journal.list_links("refund"):
            if link.data.get("order_id") == order.id and int(link.woo_id) not in present:
                if link.state != "deleted_in_woo":
                    await self._journal.put_link("refund", link.woo_id, state="deleted_in_woo", dyn_id=link.dyn_id,
                                                 dyn_number=link.dyn_number, reference=link.reference,
                                                 amount=link.amount, data=link.data)  # fmt: skip
                    await self._journal.add_event(
                        key, f"refund {link.woo_id} was deleted in WooCommerce after credit note "
                        f"{link.dyn_number or link.dyn_id} was made: needs attention", level="warning",
                    )  # fmt: skip


def summary(order: Order) -> Summary:
    """What the bookkeeper's work list shows of an order."""
    b = order.billing
    customer = b.company or f"{b.first_name} {b.last_name}".strip() or b.email or f"customer {order.customer_id}"
    return Summary(order.number or str(order.id), order.date_created_gmt or "", customer, b.email or "",
                   str(order.total), order.currency)  # fmt: skip


def _invoice_plan_lines(data: dict[str, Any]) -> tuple[Any, ...]:
    from agent.plan import PlanLine

    return tuple(PlanLine.from_dict(line) for line in data.get("lines", []))


def _creditnote_plan(data: dict[str, Any]) -> CreditNotePlan:
    """Enough of a stored credit-note plan for ``record_credit`` (lines and total)."""
    from agent.plan import PlanLine
    from agent.plan.types import PaymentDecision, Totals

    totals = Totals(**{k: Decimal(v) for k, v in data["totals"].items()})
    return CreditNotePlan(
        order_id=data["order_id"], refund_id=data["refund_id"], reference=data["reference"],
        invoice_reference=data["invoice_reference"], text=data["text"], date=data.get("date"), mode=data["mode"],
        full_refund=data["full_refund"], lines=tuple(PlanLine.from_dict(li) for li in data["lines"]),
        totals=totals, payout=PaymentDecision(register=False, reason="stored"),
    )  # fmt: skip


__all__ = ["OrderProcessor", "WooError", "classify"]
