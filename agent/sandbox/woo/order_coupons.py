"""Coupons applied to an order's lines the way WooCommerce 10.0.2 does (class-wc-discounts.php through
``WC_Abstract_Order::recalculate_coupons``): incl.-tax prices when the shop enters prices incl. tax, net
prices otherwise; each coupon's ``discount_tax`` is per-line rounded, or unrounded when the shop rounds
tax at subtotal (WooCommerce then prints it as stored, e.g. ``"8.3325"``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from agent.sandbox.woo.coupons import Coupon, DiscountItem, apply_coupons, to_cents
from agent.sandbox.woo.shop import CouponResult, ItemLine, Shop
from agent.sandbox.woo.taxes import ZERO, exclusive_taxes, find_rates, inclusive_taxes, round_line_tax


def apply_order_coupons(shop: Shop, lines: list[ItemLine], country: str, coupons: list[Coupon]) -> list[CouponResult]:
    """Discount the lines (``line.total``) and return each coupon's discount and discount tax."""
    if not coupons:
        return []
    incl = shop.settings.prices_include_tax
    items = [
        DiscountItem(key=i, quantity=line.quantity,
                     price=to_cents(line.subtotal) + (to_cents(line.subtotal_tax) if incl else ZERO))
        for i, line in enumerate(lines)
    ]
    discounts = apply_coupons(items, coupons)
    for key, amount in discounts.per_item().items():
        line = lines[key]
        net = amount
        if incl and line.taxable:
            rates = find_rates(shop.rates, country, line.tax_class)
            net = amount - sum(inclusive_taxes(amount, rates).values(), ZERO)
        line.total = max(ZERO, line.subtotal - net)
    return [_coupon_result(shop, c, lines, discounts.by_coupon.get(c.code, {}), country) for c in coupons]


def _coupon_result(
    shop: Shop, coupon: Coupon, lines: list[ItemLine], per_item: Mapping[int, Decimal], country: str
) -> CouponResult:
    s = shop.settings
    amount = sum(per_item.values(), ZERO) / 100
    tax = ZERO
    for key, cents in per_item.items():
        line = lines[key]
        if not line.taxable:
            continue
        rates = find_rates(shop.rates, country, line.tax_class)
        split = inclusive_taxes if s.prices_include_tax else exclusive_taxes
        # Unrounded at subtotal: WooCommerce then prints discount_tax as stored ("8.3325").
        tax += round_line_tax(sum(split(cents / 100, rates).values(), ZERO), s)
    discount = amount - tax if s.prices_include_tax else amount
    return CouponResult(coupon=coupon, discount=discount, discount_tax=tax)
