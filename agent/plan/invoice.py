"""Order → invoice plan (issue 5). Pure: everything it needs arrives as arguments."""

from __future__ import annotations

from decimal import Decimal

from agent.plan.debtor import decide_debtor, vat_number
from agent.plan.lines import order_lines
from agent.plan.money import ZERO, cents
from agent.plan.payment import invoice_payment, payment_terms
from agent.plan.plausible import screen
from agent.plan.refundlines import refund_lines, woo_refund_vat
from agent.plan.settings import PlanSettings
from agent.plan.totals import settle
from agent.plan.types import InvoiceContext, InvoicePlan, PlanLine, ProductSync, Skip
from agent.plan.vat import OrderVat, PlanHold
from agent.woo.models import Order, Refund


def _meta_matches(order: Order, key: str, wanted: str) -> bool:
    value = order.meta(key)
    if value in (None, ""):
        return False
    return wanted == "*" or str(value) == wanted


def _filter_reason(order: Order, settings: PlanSettings) -> str | None:
    filters = settings.filters
    if filters.payment_methods and order.payment_method not in filters.payment_methods:
        return f"payment method {order.payment_method or '(none)'!r} is not in filters.payment_methods"
    country = order.billing.country or order.shipping.country
    if filters.countries and country not in filters.countries:
        return f"country {country or '(none)'!r} is not in filters.countries"
    for key, wanted in filters.required_meta.items():
        if not _meta_matches(order, key, wanted):
            return f"order meta {key} is not {wanted!r} (filters.required_meta)"
    for key, wanted in filters.forbidden_meta.items():
        if _meta_matches(order, key, wanted):
            return f"order meta {key} is {order.meta(key)!r} (filters.forbidden_meta)"
    return None


def _gate(order: Order, settings: PlanSettings, context: InvoiceContext) -> Skip | None:
    if context.invoice is not None and context.invoice.booked:
        return Skip(order.id, "done", f"already invoiced and booked ({context.invoice.reference})")
    renewal = order.is_renewal
    statuses = settings.triggers.renewal_statuses if renewal else settings.triggers.order_statuses
    if order.status not in statuses:
        what = "subscription renewal" if renewal else "order"
        return Skip(order.id, "skip", f"{what} status {order.status!r} is not one of {', '.join(statuses)}")
    reason = _filter_reason(order, settings)
    return Skip(order.id, "skip", reason) if reason else None


def _products(order: Order, settings: PlanSettings) -> tuple[ProductSync, ...]:
    mode = settings.products.sync
    if mode == "never":
        return ()
    seen: dict[str, ProductSync] = {}
    for item in order.line_items:
        sku = (item.sku or "").strip()
        if sku and item.quantity > 0 and sku not in seen:
            # The catalogue net price: before coupons, so a discounted sale doesn't reprice the product.
            price = cents(item.subtotal / item.quantity)
            seen[sku] = ProductSync(sku, item.name, price, mode == "create_and_update")
    return tuple(seen.values())


def negate(line: PlanLine) -> PlanLine:
    return PlanLine.make(kind=line.kind, source=line.source, product=line.product, name=line.name, qty=-line.qty,
                         unit_price=line.unit_price, vat_code=line.vat_code, vat_rate=line.vat_rate)  # fmt: skip


def _net_of_refunds(
    lines: list[PlanLine], refunds: tuple[Refund, ...], settings: PlanSettings
) -> tuple[list[PlanLine], Decimal, Decimal]:
    """Order lines plus negated credit lines per refund; returns (lines, refunded amount, refunded VAT)."""
    amount = vat = ZERO
    out = list(lines)
    for refund in refunds:
        credit = refund_lines(refund, out, settings)
        out += [negate(c) for c in credit]
        amount += refund.amount
        vat += woo_refund_vat(refund, credit)
    return out, amount, vat


def plan_invoice(order: Order, settings: PlanSettings, context: InvoiceContext | None = None) -> InvoicePlan | Skip:
    context = context or InvoiceContext()
    skip = _gate(order, settings, context)
    if skip is not None:
        return skip
    refunds = context.refunds
    implausible = screen(order, refunds, settings.plausibility)  # raises for numbers that cannot be money
    if implausible is not None:
        return Skip(order.id, "hold", implausible)
    try:
        vat = OrderVat(order, settings, vat_number(order, settings.debtors))
        lines, refunded, refunded_vat = _net_of_refunds(order_lines(order, settings, vat), refunds, settings)
    except PlanHold as hold:
        return Skip(order.id, "hold", f"order {order.number or order.id}: {hold}")
    lines, totals, held = settle(lines, order.total - refunded, order.total_tax - refunded_vat, settings, "invoice")
    mode = "draft" if held else settings.invoice.mode
    number = order.number or str(order.id)
    fields: dict[str, object] = {"number": number, "id": order.id}
    return InvoicePlan(
        order_id=order.id, order_number=number, reference=settings.invoice.reference.format(**fields),
        text=settings.invoice.text.format(**fields), currency=order.currency,
        date=order.date_paid_gmt or order.date_created_gmt, mode=mode, held=held, renewal=order.is_renewal,
        debtor=decide_debtor(order, settings, context.debtor_number), products=_products(order, settings),
        lines=tuple(lines), totals=totals, payment_terms=payment_terms(order.payment_method, settings),
        payment=invoice_payment(order, settings, mode=mode, held=held, registered=context.payment_registered,
                                amount=totals.total),
        update_draft=context.invoice is not None, refunds_netted=tuple(r.id for r in refunds),
        notes=_notes(totals.vat_difference, order),
    )  # fmt: skip


def _notes(vat_difference: Decimal, order: Order) -> tuple[str, ...]:
    notes = []
    if vat_difference:
        notes.append(f"VAT differs from WooCommerce by {vat_difference} (accepted within tolerance)")
    if order.customer_note:
        notes.append(f"customer note: {order.customer_note}")
    return tuple(notes)
