"""Order → invoice plan (issue 5). Pure: everything it needs arrives as arguments."""

from __future__ import annotations

from decimal import Decimal

from agent.plan import references
from agent.plan.debtor import decide_debtor, vat_number
from agent.plan.lines import order_lines
from agent.plan.mapping import apply_mapping
from agent.plan.money import ZERO, cents
from agent.plan.payment import invoice_payment, payment_terms
from agent.plan.plausible import screen
from agent.plan.refundlines import refund_lines, refund_targets
from agent.plan.renewal import renewal_fields
from agent.plan.settings import PlanSettings
from agent.plan.totals import settle
from agent.plan.types import InvoiceContext, InvoicePlan, PlanLine, ProductSync, Skip, Totals
from agent.plan.vat import OrderVat, PlanHold, UnknownVatCode, add_targets, vat_targets
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


PAID_THEN_REFUNDED = ("refunded",)


def _gate(order: Order, settings: PlanSettings, context: InvoiceContext) -> Skip | None:
    if context.invoice is not None and context.invoice.booked:
        return Skip(order.id, "done", f"already invoiced and booked ({context.invoice.reference})")
    renewal = order.is_renewal
    statuses = settings.triggers.renewal_statuses if renewal else settings.triggers.order_statuses
    # A paid order first seen refunded (downtime, a lost webhook, an import) was still sold: invoice it as
    # sold, then its refunds are credited, so the books show both.
    sold = order.status in PAID_THEN_REFUNDED and bool(order.date_paid_gmt)
    if order.status not in statuses and not sold:
        what = "subscription renewal" if renewal else "order"
        never_paid = " and was never paid" if order.status in ("refunded", "cancelled") else ""
        return Skip(order.id, "skip", f"{what} status {order.status!r} is not one of {', '.join(statuses)}"
                    f"{never_paid}")  # fmt: skip
    reason = _filter_reason(order, settings)
    return Skip(order.id, "skip", reason) if reason else None


def _products(order: Order, settings: PlanSettings) -> tuple[ProductSync, ...]:
    mode = settings.products.sync
    if mode == "never":
        return ()
    # While the catalog sync follows the shop it owns an existing product's columns (name, net list price,
    # group, unit, weight, text); an order line only creates a product the catalog has not written yet.
    update = mode == "create_and_update" and not settings.products.on_shop_events
    seen: dict[str, ProductSync] = {}
    for item in order.line_items:
        sku = (item.sku or "").strip()
        if sku and item.quantity > 0 and sku not in seen:
            # The catalogue net price: before coupons, so a discounted sale doesn't reprice the product.
            price = cents(item.subtotal / item.quantity)
            seen[sku] = ProductSync(sku, item.name, price, update, references.product(settings.shop.name, sku))
    return tuple(seen.values())


def negate(line: PlanLine) -> PlanLine:
    return PlanLine.make(kind=line.kind, source=line.source, product=line.product, name=line.name, qty=-line.qty,
                         unit_price=line.unit_price, vat_code=line.vat_code, vat_rate=line.vat_rate)  # fmt: skip


def _net_of_refunds(
    lines: list[PlanLine], refunds: tuple[Refund, ...], settings: PlanSettings, vat: OrderVat
) -> tuple[list[PlanLine], Decimal, dict[str, Decimal]]:
    """Order lines plus negated credit lines per refund; returns (lines, refunded amount, refunded VAT per code)."""
    amount = ZERO
    refunded: dict[str, Decimal] = {}
    out = list(lines)
    for refund in refunds:
        credit = refund_lines(refund, out, settings)
        out += [negate(c) for c in credit]
        amount += refund.amount
        refunded = add_targets(refunded, refund_targets(refund, credit, vat))
    return out, amount, refunded


def _text(order: Order, settings: PlanSettings, context: InvoiceContext) -> tuple[str, str | None]:
    fields: dict[str, object] = {"number": order.number or str(order.id), "id": order.id}
    if not order.is_renewal:
        return settings.invoice.text.format(**fields), None
    extra, delivery = renewal_fields(order, context.subscription)
    return settings.invoice.renewal_text.format(**fields, **extra), delivery


def _lines(order: Order, settings: PlanSettings, context: InvoiceContext
           ) -> tuple[list[PlanLine], Totals, str | None, dict[str, Decimal]]:  # fmt: skip
    vat = OrderVat(order, settings, vat_number(order, settings.debtors), context.vat_codes)
    lines, refunded, refunded_vat = _net_of_refunds(order_lines(order, settings, vat), context.refunds, settings, vat)
    targets = add_targets(vat_targets(order.tax_lines, vat), {c: -v for c, v in refunded_vat.items()})
    lines, totals, held = settle(lines, order.total - refunded, targets, settings, "invoice")
    return lines, totals, held, targets


def plan_invoice(order: Order, settings: PlanSettings, context: InvoiceContext | None = None) -> InvoicePlan | Skip:
    context = context or InvoiceContext()
    skip = _gate(order, settings, context)
    if skip is not None:
        return skip
    implausible = screen(order, context.refunds, settings.plausibility)  # raises for numbers that cannot be money
    if implausible is not None:
        return Skip(order.id, "hold", implausible)
    try:
        lines, totals, held, targets = _lines(order, settings, context)
    except PlanHold as hold:
        return Skip(order.id, "hold", f"order {order.number or order.id}: {hold}",
                    missing_vat_code=hold.code if isinstance(hold, UnknownVatCode) else "")  # fmt: skip
    mode = "draft" if held else settings.invoice.mode
    number = order.number or str(order.id)
    try:
        reference = context.reference or references.invoice(settings.shop.name, settings.invoice.reference,
                                                            order_id=order.id, number=number)  # fmt: skip
    except references.ReferenceTooLong as exc:
        return Skip(order.id, "hold", f"order {number}: {exc}")
    text, delivery = _text(order, settings, context)
    plan = InvoicePlan(
        order_id=order.id, order_number=number, reference=reference, text=text,
        dimension=settings.shop.dimension_name, currency=order.currency,
        date=order.date_paid_gmt or order.date_created_gmt, mode=mode, held=held, renewal=order.is_renewal,
        debtor=decide_debtor(order, settings, context.debtor_number), products=_products(order, settings),
        lines=tuple(lines), totals=totals, payment_terms=payment_terms(order, settings),
        payment=invoice_payment(order, settings, mode=mode, held=held, registered=context.payment_registered,
                                amount=totals.total),
        update_draft=context.invoice is not None, refunds_netted=tuple(r.id for r in context.refunds),
        notes=_notes(order), woo_vat_by_code=targets, delivery_date=delivery,
    )  # fmt: skip
    return apply_mapping(plan, order, settings.mapping, settings.shop.name)


def _notes(order: Order) -> tuple[str, ...]:
    notes = []
    if order.status in PAID_THEN_REFUNDED:
        notes.append(f"order was paid and is now {order.status}: invoiced as sold, its refunds are credited")
    if order.customer_note:
        notes.append(f"customer note: {order.customer_note}")
    return tuple(notes)
