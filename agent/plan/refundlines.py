"""Refund → credit lines against the lines of the invoice it credits.

Used by the credit-note planner and, negated, by the invoice planner when a draft invoice is
re-planned net of its refunds. Credit lines keep the invoice line's ``source``, product and VAT
code so per-line credited quantities can be tracked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from agent.plan.exact import vat_by_code
from agent.plan.lines import priced_lines
from agent.plan.money import ONE, ZERO, allocate, net_for_gross
from agent.plan.settings import PlanSettings
from agent.plan.types import PlanLine
from agent.plan.vat import OrderVat, PlanHold, VatChoice, vat_targets
from agent.woo.models import FeeLine, LineItem, Refund, ShippingLine


def by_source(lines: Sequence[PlanLine]) -> dict[str, list[PlanLine]]:
    grouped: dict[str, list[PlanLine]] = defaultdict(list)
    for line in lines:
        grouped[line.source].append(line)
    return grouped


def credit_line(
    src: str, originals: list[PlanLine], qty: Decimal, net: Decimal, settings: PlanSettings
) -> list[PlanLine]:
    first = originals[0]
    vat = VatChoice(first.vat_code, first.vat_rate)
    if first.kind in ("shipping", "fee") and len({li.vat_code for li in originals}) > 1:
        # A fee WooCommerce taxed at several rates was invoiced as one line per rate: credit it the same way.
        shares = allocate(net, [li.net for li in originals])
        return [line for li, share in zip(originals, shares, strict=True) if share
                for line in priced_lines(kind=li.kind, source=src, product=li.product, name=li.name, qty=ONE,
                                         net=share, vat=VatChoice(li.vat_code, li.vat_rate))]  # fmt: skip
    if qty > 0 and first.kind == "item":
        return priced_lines(kind="item", source=src, product=first.product, name=first.name, qty=qty, net=net, vat=vat)
    if first.kind in ("shipping", "fee", "rounding", "discount"):
        return priced_lines(kind=first.kind, source=src, product=first.product, name=first.name, qty=ONE, net=net,
                            vat=vat)  # fmt: skip
    # Money back on an item without returning units: crediting the product would move stock.
    return priced_lines(kind="refund", source=src, product=settings.products.refund, name=f"{first.name} (amount)",
                        qty=ONE, net=net, vat=vat)  # fmt: skip


def _refund_item_source(refund: Refund, item: LineItem | ShippingLine | FeeLine, prefix: str) -> str:
    original = refund.refunded_item_id(item)
    if original is None:
        raise PlanHold(f"refund {refund.id} has a {prefix} line without _refunded_item_id")
    return f"{prefix}:{original}"


def line_refund(refund: Refund, invoice_lines: Sequence[PlanLine], settings: PlanSettings) -> list[PlanLine]:
    grouped = by_source(invoice_lines)
    out: list[PlanLine] = []
    items: list[tuple[str, LineItem | ShippingLine | FeeLine, Decimal]] = [
        *(("item", i, -i.quantity) for i in refund.line_items),
        *(("shipping", s, ONE) for s in refund.shipping_lines),
        *(("fee", f, ONE) for f in refund.fee_lines),
    ]
    for prefix, item, qty in items:
        if item.total == 0 and (qty == 0 or prefix != "item"):
            continue  # WooCommerce copies untouched lines with zero values
        src = _refund_item_source(refund, item, prefix)
        if src not in grouped:
            raise PlanHold(f"refund {refund.id} refers to {src}, which is not on the invoice")
        if item.total and not any(t.total for t in item.taxes) and any(li.vat_rate for li in grouped[src]):
            raise PlanHold(f"refund {refund.id} gives back {grouped[src][0].name!r} without its VAT (no refund_tax): "
                           "whether the customer got the VAT back is unclear, so credit it by hand")  # fmt: skip
        out += credit_line(src, grouped[src], qty, -item.total, settings)
    return out


def amount_only(amount: Decimal, invoice_lines: Sequence[PlanLine], settings: PlanSettings) -> list[PlanLine]:
    """Credit lines on the REFUND product, VAT split in the invoice's proportions per VAT code."""
    weights: dict[VatChoice, Decimal] = defaultdict(lambda: ZERO)
    for line in invoice_lines:
        if line.kind != "rounding":
            weights[VatChoice(line.vat_code, line.vat_rate)] += line.gross
    codes = [c for c, w in weights.items() if w > 0]
    if not codes:
        raise PlanHold("the invoice has no positive lines to split an amount-only refund over")
    shares = allocate(amount, [weights[c] for c in codes])
    return [
        PlanLine.make(kind="refund", source="refund", product=settings.products.refund, name="Refund", qty=ONE,
                      unit_price=net_for_gross(share, code.rate), vat_code=code.code, vat_rate=code.rate)
        for code, share in zip(codes, shares, strict=True)
        if share
    ]


def has_lines(refund: Refund) -> bool:
    return bool(refund.line_items or refund.shipping_lines or refund.fee_lines)


def refund_lines(refund: Refund, invoice_lines: Sequence[PlanLine], settings: PlanSettings) -> list[PlanLine]:
    if has_lines(refund):
        return line_refund(refund, invoice_lines, settings)
    return amount_only(refund.amount, invoice_lines, settings)


def refund_targets(refund: Refund, planned: Sequence[PlanLine], vat: OrderVat) -> dict[str, Decimal]:
    """The VAT WooCommerce refunded per code (its own ``tax_lines``, negative there); an amount-only
    refund states none, so our proportional split is the figure."""
    if not has_lines(refund):
        return vat_by_code(planned)
    return vat_targets(refund.tax_lines, vat, sign=Decimal(-1))


def woo_lines_gross(refund: Refund) -> Decimal:
    """What the refund's lines give back incl. VAT, as WooCommerce stored them (negative there)."""
    parts: list[LineItem | ShippingLine | FeeLine] = [*refund.line_items, *refund.shipping_lines, *refund.fee_lines]
    return -sum((p.total + p.total_tax for p in parts), ZERO)


def kept_fee_lines(kept: Decimal, credit: Sequence[PlanLine], settings: PlanSettings) -> list[PlanLine]:
    """Negative lines for what the shop kept of the refunded lines (a restocking fee), its VAT split in
    the lines' proportions per code, so the credit note equals the refund's ``amount``."""
    weights: dict[VatChoice, Decimal] = defaultdict(lambda: ZERO)
    for line in credit:
        weights[VatChoice(line.vat_code, line.vat_rate)] += line.gross
    codes = [c for c, w in weights.items() if w > 0]
    shares = allocate(kept, [weights[c] for c in codes])
    return [
        PlanLine.make(kind="kept", source="kept", product=settings.products.kept_fee, name="Kept fee", qty=ONE,
                      unit_price=-net_for_gross(share, code.rate), vat_code=code.code, vat_rate=code.rate)
        for code, share in zip(codes, shares, strict=True)
        if share
    ]
