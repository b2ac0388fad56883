"""Refund → credit note plan (issue 6). Pure: the invoice and its earlier credits arrive in the context."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from agent.plan import references
from agent.plan.debtor import vat_number
from agent.plan.exact import vat_by_code
from agent.plan.money import ONE, ZERO
from agent.plan.payment import refund_payout
from agent.plan.plausible import check_numbers
from agent.plan.refundlines import (
    by_source,
    credit_line,
    has_lines,
    kept_fee_lines,
    refund_lines,
    refund_targets,
    woo_lines_gross,
)
from agent.plan.settings import PlanSettings
from agent.plan.totals import predict, settle
from agent.plan.types import Credited, CreditNoteContext, CreditNotePlan, InvoiceState, PlanLine, Skip, Totals
from agent.plan.vat import OrderVat, PlanHold, UnknownVatCode, add_targets
from agent.woo.models import Order, Refund

NO_QTY = Decimal(0)  # quantities are counted, not money: no øre exponent


def _gate(order: Order, refund: Refund, settings: PlanSettings, context: CreditNoteContext) -> Skip | None:
    invoice = context.invoice
    if context.already_credited:
        return Skip(order.id, "done", f"refund {refund.id} already has a credit note", refund.id)
    if invoice is None:
        return Skip(order.id, "skip", f"order {order.id} was never invoiced, so there is nothing to credit", refund.id)
    if not invoice.booked:
        if settings.refunds.draft_policy == "update_draft":
            reason = f"invoice {invoice.reference} is still a draft: re-plan it net of refund {refund.id}"
            return Skip(order.id, "replan_invoice", reason, refund.id)
        return Skip(order.id, "wait", f"waiting until invoice {invoice.reference} is booked", refund.id)
    if invoice.total - invoice.credited_total <= 0:
        return Skip(order.id, "hold", f"invoice {invoice.reference} is already fully credited; refund "
                    f"{refund.id} of {refund.amount} has nothing left to credit", refund.id)  # fmt: skip
    return None


def remaining_lines(invoice: InvoiceState, settings: PlanSettings) -> list[PlanLine]:
    """What is not yet credited, line by line (for the refund that completes a full refund)."""
    out: list[PlanLine] = []
    for src, group in by_source(invoice.lines).items():
        credited = invoice.credited.get(src, Credited())
        qty = sum((line.qty for line in group), NO_QTY) - credited.qty
        net = sum((line.net for line in group), ZERO) - credited.net
        if net or (qty > 0 and group[0].kind == "item"):
            out += credit_line(src, group, qty if group[0].kind == "item" else ONE, net, settings)
    return out


def _full(order: Order, refund: Refund, invoice: InvoiceState, settings: PlanSettings) -> list[PlanLine] | None:
    remaining = invoice.total - invoice.credited_total
    if order.status != "refunded" or refund.amount != remaining:
        return None
    lines = remaining_lines(invoice, settings)
    net, vat = predict(lines)
    # Earlier amount-only credits are not tied to lines; then the line remainders overshoot.
    return lines if abs(net + vat - remaining) <= settings.invoice.rounding_tolerance else None


def _check_quantities(lines: list[PlanLine], invoice: InvoiceState) -> None:
    invoiced = by_source(invoice.lines)
    for src, group in by_source(lines).items():
        if group[0].kind != "item":
            continue
        have = sum((line.qty for line in invoiced.get(src, [])), NO_QTY) - invoice.credited.get(src, Credited()).qty
        want = sum((line.qty for line in group), NO_QTY)
        if want > have:
            raise PlanHold(f"credits {want} × {group[0].name!r} but only {have} invoiced and not yet credited")


def _lines(
    order: Order, refund: Refund, invoice: InvoiceState, settings: PlanSettings
) -> tuple[list[PlanLine], Decimal, str | None, bool]:
    """(lines, amount to credit, cap reason, full refund)."""
    remaining = invoice.total - invoice.credited_total
    full = _full(order, refund, invoice, settings)
    if full is not None:
        return full, refund.amount, None, True
    if refund.amount > remaining:
        why = f"refund {refund.amount} exceeds what is left on invoice {invoice.reference} ({remaining})"
        if has_lines(refund):
            raise PlanHold(why)
        return refund_lines(refund.model_copy(update={"amount": remaining}), invoice.lines, settings), remaining, \
            f"{why}; credited {remaining}", False  # fmt: skip
    lines = refund_lines(refund, invoice.lines, settings)
    _check_quantities(lines, invoice)
    return lines, refund.amount, None, False


def _kept(refund: Refund, lines: list[PlanLine], settings: PlanSettings, full: bool) -> list[PlanLine]:
    """Kept-fee lines when the refund pays back less than its lines (a restocking fee kept by the shop)."""
    if full or not has_lines(refund):
        return []
    kept = woo_lines_gross(refund) - refund.amount
    return kept_fee_lines(kept, lines, settings) if kept > settings.invoice.rounding_tolerance else []


def _targets(order: Order, refund: Refund, lines: list[PlanLine], kept: list[PlanLine], capped: str | None,
             vat: OrderVat) -> dict[str, Decimal]:  # fmt: skip
    if capped:
        return vat_by_code(lines)
    return add_targets(refund_targets(refund, lines, vat), vat_by_code(kept))  # kept lines' VAT is negative


Settled = tuple[list[PlanLine], Totals, str | None, bool, str | None, Decimal, dict[str, Decimal]]


def _settled(order: Order, refund: Refund, settings: PlanSettings, context: CreditNoteContext, invoice: InvoiceState,
             what: str) -> Settled:  # fmt: skip
    lines, amount, capped, full = _lines(order, refund, invoice, settings)
    vat = OrderVat(order, settings, vat_number(order, settings.debtors), context.vat_codes)
    kept = _kept(refund, lines, settings, full)
    # A full refund credits exactly what is left of the invoice, VAT per code included, whatever the
    # refund's own tax lines say (WooCommerce fills them from the lines' displayed taxes).
    targets = vat_by_code(lines) if full else _targets(order, refund, lines, kept, capped, vat)
    lines, totals, held = settle([*lines, *kept], amount, targets, settings, what, fixed=lambda li: li.kind == "kept")
    # Negative lines (kept fee, rounding) first: a Dynaccount that checks the running sum of a credit
    # note's lines against the invoice (instead of the total at booking, A-37) never sees it pass the total.
    lines.sort(key=lambda li: li.gross >= 0)
    return lines, totals, held, full, capped, sum((-li.gross for li in kept), ZERO), targets


def plan_creditnote(
    order: Order, refund: Refund, settings: PlanSettings, context: CreditNoteContext
) -> CreditNotePlan | Skip:
    skip = _gate(order, refund, settings, context)
    if skip is not None or context.invoice is None:
        return skip or Skip(order.id, "skip", "no invoice", refund.id)
    invoice = context.invoice
    what = f"credit note for refund {refund.id}"
    check_numbers(order, (refund,))  # raises: a refund of 1e30 fails its item, never an InvalidOperation
    try:
        lines, totals, held, full, capped, kept, targets = _settled(order, refund, settings, context, invoice, what)
    except PlanHold as hold:
        return Skip(order.id, "hold", f"{what}: {hold}", refund.id,
                    missing_vat_code=hold.code if isinstance(hold, UnknownVatCode) else "")  # fmt: skip
    if held:
        return Skip(order.id, "hold", held, refund.id)
    mode = settings.refunds.mode
    number = order.number or str(order.id)
    try:
        reference = context.reference or references.creditnote(settings.shop.name, settings.refunds.reference,
                                                               refund_id=refund.id)  # fmt: skip
    except references.ReferenceTooLong as exc:
        return Skip(order.id, "hold", f"{what}: {exc}", refund.id)
    return CreditNotePlan(
        order_id=order.id, refund_id=refund.id, reference=reference, dimension=settings.shop.dimension_name,
        invoice_reference=invoice.reference,
        text=refund.reason.strip() or settings.refunds.text.format(number=number, id=order.id),
        date=refund.date_created_gmt, mode=mode, full_refund=full, lines=tuple(lines), totals=totals,
        payout=refund_payout(invoice.payment_method or order.payment_method, settings,
                             paid=invoice.payment_registered, amount=totals.total, date=refund.date_created_gmt,
                             mode=mode),
        capped=capped, notes=_notes(kept), woo_vat_by_code=targets, kept_fee=kept,
    )  # fmt: skip


def _notes(kept: Decimal) -> tuple[str, ...]:
    if kept:
        return (f"the shop kept {kept} of the refunded lines (restocking fee): credited the lines less a kept-fee "
                f"line",)  # fmt: skip
    return ()


def record_credit(invoice: InvoiceState, plan: CreditNotePlan) -> InvoiceState:
    """The invoice state after ``plan`` was applied: what the next refund's context should carry."""
    credited = dict(invoice.credited)
    for line in plan.lines:
        before = credited.get(line.source, Credited())
        qty = line.qty if line.kind == "item" else NO_QTY
        credited[line.source] = Credited(before.qty + qty, before.net + line.net)
    return dataclasses.replace(invoice, credited=credited, credited_total=invoice.credited_total + plan.totals.total)
