"""Fee taxes the way WooCommerce 10.0.2 computes them (class-wc-order-item-fee.php): a positive fee is taxed
at its own class; a negative fee's tax is apportioned over the order's tax classes by their net amounts
(``get_tax_class_costs`` / ``calculate_taxes``), so one fee can carry several rates, some at 0 %."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from agent.sandbox.woo.taxes import ZERO, exclusive_taxes, find_rates, merge_taxes, standard_slug

if TYPE_CHECKING:
    from agent.sandbox.woo.shop import Checkout, FeeCharge, Shop


def _tax_class_costs(shop: Shop, order: Checkout, fees: list[FeeCharge]) -> dict[str, Decimal]:
    """``WC_Order_Item_Fee::get_tax_class_costs``: net per tax class over items, fees and shipping, negative
    ones left out; an ``inherit`` shipping class is the first class among the order's line items."""
    item_classes = [line.tax_class for line in order.lines if line.product.tax_status in ("taxable", "shipping")]
    configured = shop.settings.shipping_tax_class
    shipping_class = (item_classes[0] if item_classes else "") if configured == "inherit" else configured
    parts: list[tuple[str, Decimal]] = [
        (line.tax_class if line.product.tax_status == "taxable" else "non-taxable", line.total) for line in order.lines
    ]
    parts += [(f.tax_class if f.tax_status == "taxable" else "non-taxable", f.total) for f in fees]
    parts += [(standard_slug(shipping_class), x.total) for x in order.shipping]
    costs: dict[str, Decimal] = {}
    for tax_class, amount in parts:
        if amount >= 0:
            costs[tax_class] = costs.get(tax_class, ZERO) + amount
    return {k: v for k, v in costs.items() if v}


def fee_taxes(shop: Shop, order: Checkout, fee: FeeCharge, fees: list[FeeCharge]) -> dict[int, Decimal]:
    country = order.tax_country
    if fee.total >= 0:
        return exclusive_taxes(fee.total, find_rates(shop.rates, country, fee.tax_class))
    # Negative fee: its tax is spread over the order's tax classes in proportion to their net amounts.
    costs = _tax_class_costs(shop, order, fees)
    whole = sum(costs.values(), ZERO)
    taxes: dict[int, Decimal] = {}
    for tax_class, cost in costs.items():
        if tax_class != "non-taxable" and whole:
            share = fee.total * cost / whole
            merge_taxes(taxes, exclusive_taxes(share, find_rates(shop.rates, country, tax_class)))
    return taxes
