"""Order → invoice lines: items, coupons, shipping, fees.

Lines are booked from each WooCommerce line's ``total`` (net, after discounts) and its tax rate,
never from ``taxes[]`` amounts alone (they round half-up where the charged tax rounded down,
woocommerce.md §11.4). Dynaccount then recomputes VAT per line (A-18); :mod:`invoice` compares.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from agent.plan.money import HUNDRED_PCT, ONE, ZERO, cents, dynaccount_line, split_price
from agent.plan.settings import PlanSettings
from agent.plan.types import LineKind, PlanLine
from agent.plan.vat import OrderVat, VatChoice
from agent.woo.models import FeeLine, LineItem, Order, ShippingLine


def priced_lines(*, kind: LineKind, source: str, product: str, name: str, qty: Decimal, net: Decimal,
                 vat: VatChoice) -> list[PlanLine]:  # fmt: skip
    """One line (or two with adjacent øre prices) whose net is exactly ``net``."""
    return [
        PlanLine.make(kind=kind, source=source, product=product, name=name, qty=q, unit_price=price,
                      vat_code=vat.code, vat_rate=vat.rate)
        for q, price in split_price(qty, net)
    ]


def _discounted(item: LineItem, product: str, vat: VatChoice) -> PlanLine | None:
    """The line at its catalogue price with a percentage discount, if that lands on ``total`` exactly."""
    price = item.subtotal / item.quantity
    if item.subtotal == 0 or price != cents(price):
        return None
    percent = cents((item.subtotal - item.total) * HUNDRED_PCT / item.subtotal)
    if dynaccount_line(item.quantity, price, vat.rate, percent).net != item.total:
        return None
    return PlanLine.make(kind="item", source=f"item:{item.id}", product=product, name=item.name,
                         qty=item.quantity, unit_price=price, vat_code=vat.code, vat_rate=vat.rate,
                         discount_percent=percent)  # fmt: skip


def item_lines(item: LineItem, settings: PlanSettings, vat: OrderVat) -> list[PlanLine]:
    choice = vat.for_taxes(item.taxes, f"line {item.name!r}")
    product = (item.sku or "").strip() or settings.products.fallback
    discounted = item.subtotal != item.total and item.quantity > 0
    if discounted and settings.invoice.coupons == "discount_line":
        net = item.subtotal  # the discount goes on the DISCOUNT line of this VAT code
    elif discounted and (line := _discounted(item, product, choice)) is not None:
        return [line]
    else:
        net = item.total
    return priced_lines(kind="item", source=f"item:{item.id}", product=product, name=item.name,
                        qty=item.quantity, net=net, vat=choice)  # fmt: skip


def discount_lines(order: Order, settings: PlanSettings, vat: OrderVat) -> list[PlanLine]:
    """One negative DISCOUNT line per VAT code (coupons = discount_line)."""
    per_code: dict[VatChoice, Decimal] = defaultdict(lambda: ZERO)
    for item in order.line_items:
        if item.subtotal != item.total:
            per_code[vat.for_taxes(item.taxes, f"line {item.name!r}")] += item.subtotal - item.total
    codes = ", ".join(c.code for c in order.coupon_lines) or "discount"
    return [
        PlanLine.make(kind="discount", source=f"discount:{choice.code}", product=settings.products.discount,
                      name=f"Discount ({codes})", qty=ONE, unit_price=-amount, vat_code=choice.code,
                      vat_rate=choice.rate)
        for choice, amount in per_code.items()
        if amount
    ]


def _per_rate(kind: LineKind, source: str, product: str, name: str,
              parts: list[tuple[VatChoice, Decimal]]) -> list[PlanLine]:  # fmt: skip
    """One line per rate: a line WooCommerce taxed at several rates (a negative fee apportioned over the
    order's classes) would otherwise be booked whole at one rate."""
    return [PlanLine.make(kind=kind, source=source, product=product, name=name, qty=ONE, unit_price=net,
                          vat_code=choice.code, vat_rate=choice.rate) for choice, net in parts]  # fmt: skip


def shipping_lines(line: ShippingLine, settings: PlanSettings, vat: OrderVat) -> list[PlanLine]:
    parts = vat.split(line.taxes, line.total, f"shipping {line.method_title!r}")
    return _per_rate("shipping", f"shipping:{line.id}", settings.products.shipping,
                     line.method_title or "Shipping", parts)  # fmt: skip


def fee_lines(line: FeeLine, settings: PlanSettings, vat: OrderVat) -> list[PlanLine]:
    # A fee's net may carry more than two decimals inside WooCommerce (9.995); the REST value is
    # rounded and the rest shows up as a rounding difference against the order total.
    net = cents(line.total)
    parts = [(vat.untaxed(), net)] if line.tax_status == "none" else vat.split(line.taxes, net, f"fee {line.name!r}")
    return _per_rate("fee", f"fee:{line.id}", settings.products.fee, line.name or "Fee", parts)


def order_lines(order: Order, settings: PlanSettings, vat: OrderVat) -> list[PlanLine]:
    lines: list[PlanLine] = []
    for item in order.line_items:
        if item.quantity or item.total:
            lines += item_lines(item, settings, vat)
    if settings.invoice.coupons == "discount_line":
        lines += discount_lines(order, settings, vat)
    for ship in order.shipping_lines:
        lines += shipping_lines(ship, settings, vat)
    for fee in order.fee_lines:
        lines += fee_lines(fee, settings, vat)
    return lines
