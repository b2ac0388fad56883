"""Plans as text for ``dynaccount-agent plan ORDER_ID``: what would be booked, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from agent.plan.exact import vat_by_code
from agent.plan.money import ZERO
from agent.plan.types import CreditNotePlan, DebtorDecision, InvoicePlan, PaymentDecision, PlanLine, Skip, Totals


def _line(line: PlanLine) -> str:
    discount = f" -{line.discount_percent}%" if line.discount_percent else ""
    vat = line.vat_code or "no VAT"
    return (f"  {line.product:<12} {line.name[:32]:<32} {line.qty:>6} × {line.unit_price:>10}{discount:<8} "
            f"{vat:<8} net {line.net:>10}  VAT {line.vat:>9}")  # fmt: skip


def _debtor(debtor: DebtorDecision) -> list[str]:
    number = str(debtor.number) if debtor.number is not None else f"new, allocated from {debtor.allocate_from}"
    out = [
        f"Debtor: {debtor.kind.upper()} group {debtor.group!r}, number {number}",
        f"  match by {debtor.match_key} = {debtor.match_value}",
        f"  {debtor.name}" + (f", att. {debtor.attention}" if debtor.attention else ""),
        f"  {debtor.address.replace(chr(10), ', ')}, {debtor.zip} {debtor.city}, {debtor.country}",
        f"  {debtor.email} {debtor.phone}".rstrip() + f"  lang {debtor.language}, {debtor.currency}",
    ]
    if debtor.vat_number or debtor.ean:
        out.append(f"  VAT no. {debtor.vat_number or '-'}  EAN {debtor.ean or '-'}")
    if debtor.delivery:
        d = debtor.delivery
        out.append(f"  deliver to {d.name}, {d.address.replace(chr(10), ', ')}, {d.zip} {d.city}, {d.country}")
    return out


def _totals(totals: Totals, currency: str, woo: str) -> list[str]:
    out = [
        f"Totals: net {totals.net}  VAT {totals.vat}  total {totals.total} {currency}",
        f"  {woo}: total {totals.woo_total}  VAT {totals.woo_vat}",
    ]
    if totals.rounding:
        out.append(f"  rounding line {totals.rounding}")
    if totals.vat_difference:
        out.append(f"  VAT difference {totals.vat_difference}")
    return out


def _per_code(lines: Sequence[PlanLine], woo: Mapping[str, Decimal], label: str) -> list[str]:
    """VAT per code as Dynaccount will compute it beside what the customer paid (tax_lines)."""
    have = vat_by_code(lines)
    codes = sorted({c for c in (*have, *woo) if c})
    return [f"  VAT {code:<12} {have.get(code, ZERO):>10}   {label} {woo.get(code, ZERO):>10}" for code in codes]


def _payment(label: str, payment: PaymentDecision) -> str:
    if payment.register:
        return f"{label}: register {payment.amount} on {payment.date} ({payment.method}; {payment.reason})"
    return f"{label}: none ({payment.reason})"


def _invoice(plan: InvoicePlan) -> list[str]:
    kind = "renewal " if plan.renewal else ""
    out = [f"Invoice for {kind}order {plan.order_number} ({plan.reference}), {plan.mode}"]
    if plan.held:
        out.append(f"HELD as draft: {plan.held}")
    if plan.update_draft:
        out.append("replaces the existing draft invoice" + (
            f" net of refunds {', '.join(map(str, plan.refunds_netted))}" if plan.refunds_netted else ""))  # fmt: skip
    out += _debtor(plan.debtor)
    out.append(f"Text: {plan.text.replace(chr(10), ' / ')}   Terms: {plan.payment_terms}   Date: {plan.date}")
    if plan.dimension:
        out.append(f"Dimension: {plan.dimension}")
    out += [f"Field {column}: {value}" for column, value in plan.header_fields.items()]  # [mapping] invoice_fields
    out.append("Lines:")
    for line in plan.lines:
        out += [_line(line)] + ([f"    note: {line.txt}"] if line.txt else [])
    out += _totals(plan.totals, plan.currency, "WooCommerce")
    out += _per_code(plan.lines, plan.woo_vat_by_code, "WooCommerce")
    out.append(_payment("Payment", plan.payment))
    if plan.products:
        out.append("Products to sync: " + ", ".join(f"{p.sku} ({p.unit_price})" for p in plan.products))
    return out + [f"Note: {note}" for note in plan.notes]


def _creditnote(plan: CreditNotePlan) -> list[str]:
    out = [f"Credit note for refund {plan.refund_id} ({plan.reference}), invoice {plan.invoice_reference}, {plan.mode}"]
    if plan.full_refund:
        out.append("full refund: credits everything not yet credited")
    if plan.capped:
        out.append(f"CAPPED: {plan.capped}")
    out.append(f"Text: {plan.text}   Date: {plan.date}")
    out.append("Lines:")
    out += [_line(line) for line in plan.lines]
    out += _totals(plan.totals, "", "WooCommerce refund")
    out += _per_code(plan.lines, plan.woo_vat_by_code, "refund")
    out.append(_payment("Payout", plan.payout))
    return out + [f"Note: {note}" for note in plan.notes]


def render_plan(plan: InvoicePlan | CreditNotePlan | Skip) -> str:
    if isinstance(plan, Skip):
        subject = f"refund {plan.refund_id} of order {plan.order_id}" if plan.refund_id else f"order {plan.order_id}"
        return f"{plan.kind.upper()}: {subject}: {plan.reason}\n"
    lines = _invoice(plan) if isinstance(plan, InvoicePlan) else _creditnote(plan)
    return "\n".join(lines) + "\n"
