"""A credit from a file → a WooCommerce-shaped refund of the order's lines, for the credit-note planner."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from agent.files.build import Credit, LineError
from agent.plan.money import ZERO
from agent.woo.models import ItemTax, LineItem, MetaData, Order, Refund, TaxLine


def _original(order: Order, sku: str, name: str, row: int) -> LineItem:
    for item in order.line_items:
        if (sku and item.sku == sku) or (not sku and item.name == name):
            return item
    raise LineError(row, f"credits {sku or name!r}, which is not a line of order {order.number}")


def refund_for(order: Order, credit: Credit, refund_id: int, incl: bool, date: str | None) -> Refund:
    """Credit lines point at the invoiced lines (``_refunded_item_id``) and carry negative amounts."""
    rate_ids = {t.rate_percent: t.rate_id for t in order.tax_lines}
    items: list[LineItem] = []
    taxes: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for n, ln in enumerate(credit.lines, start=1):
        original = _original(order, ln.sku, ln.name, ln.row)
        _, _, net, tax = ln.amounts(incl)
        item_taxes = []
        if ln.rate > 0:
            if ln.rate not in rate_ids:
                raise LineError(ln.row, f"credits VAT rate {ln.rate} %, which order {order.number} was not sold at")
            item_taxes = [ItemTax(id=rate_ids[ln.rate], total=-tax)]
            taxes[rate_ids[ln.rate]] += tax
        items.append(LineItem(id=n, name=original.name, quantity=-ln.qty, sku=original.sku, total=-net,
                              subtotal=-net, total_tax=-tax, subtotal_tax=-tax, taxes=item_taxes,
                              meta_data=[MetaData(key="_refunded_item_id", value=str(original.id))]))  # fmt: skip
    tax_lines = [TaxLine(id=t.id, rate_id=t.rate_id, rate_code=t.rate_code, label=t.label,
                         tax_total=-taxes[t.rate_id], rate_percent=t.rate_percent)
                 for t in order.tax_lines if taxes[t.rate_id]]  # fmt: skip
    amount = sum((-(i.total + i.total_tax) for i in items), Decimal(0))
    return Refund(id=refund_id, parent_id=order.id, date_created_gmt=date, amount=amount, line_items=items,
                  tax_lines=tax_lines, reason="", refunded_payment=True)  # fmt: skip
