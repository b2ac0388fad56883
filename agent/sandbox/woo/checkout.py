"""WooCommerce 10.0.2 order money arithmetic, pure (no I/O). Spec §11 and §2.3.

Usage::

    from agent.sandbox.woo.checkout import compute
    from agent.sandbox.woo.seed import danish_shop

    result = compute(danish_shop(), {
        "line_items": [{"product_id": 11, "quantity": 2}, {"product_id": 13, "variation_id": 14, "quantity": 1}],
        "coupon_lines": [{"code": "velkommen10"}],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "GLS Pakkeshop", "total": "39.20"}],
        "fee_lines": [{"name": "Gebyr", "total": "9.995"}],
        "billing": {"country": "DK"}, "shipping": {"country": "DK"},
        "meta_data": [{"key": "is_vat_exempt", "value": "yes"}],
    })
    result.total, result.total_tax, result.tax_lines[0].tax_total   # Decimals, already rounded like WooCommerce

The request is exactly the body of ``POST /wp-json/wc/v3/orders`` (line items by ``product_id`` /
``variation_id`` / ``sku`` and ``quantity``, optional explicit net ``subtotal``/``total``). The result keeps
WooCommerce's *stored* values: line ``subtotal``/``total`` and every ``taxes`` entry unrounded (6 decimals),
per-line ``*_tax`` and all order totals rounded as WooCommerce rounds them. Render strings with
:func:`agent.sandbox.woo.taxes.fmt_money` (or use :mod:`agent.sandbox.woo.orderjson` for a complete REST order dict).

Rules modelled (WC10 code reading, confirmed on a real shop where the spec says so):

* line net = price × qty − tax of the *base country* for the product's class (unrounded); foreign customers
  keep that net and get their own rate; a country without a rate gets no tax and no tax line;
* per-rate taxes are 6-decimal; line/fee/shipping ``*_tax`` and order tax totals round half DOWN (prices incl.
  tax), display of ``taxes[]`` and money rounds half UP;
* coupons (:mod:`agent.sandbox.woo.coupons`) discount incl.-tax prices, then the discount's tax (customer's rates) is
  removed from the line total; coupon ``discount_tax`` is the per-line rounded tax of each discount;
* shipping is net; tax class ``inherit`` takes the first of standard/reduced/zero found among taxable items;
* fees are net and enter ``total`` unrounded; a negative taxable fee apportions tax over the classes by net;
* order meta ``is_vat_exempt = yes`` removes all taxes (coupon splits still use the location's rates, as WC does);
* tax location: shipping country, else billing; local pickup uses the base country.

* ``round_at_subtotal`` (``woocommerce_tax_round_at_subtotal = yes``, usually with prices entered excl. tax):
  line/shipping/fee/coupon taxes stay unrounded, items are summed unrounded, only ``total``, ``cart_tax`` and
  the REST rendering round (half up when prices exclude tax); coupons then discount net amounts.

Not modelled: compound rates, state/postcode rates, coupon restrictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.sandbox.woo.coupons import Coupon
from agent.sandbox.woo.fees import fee_taxes
from agent.sandbox.woo.order_coupons import apply_order_coupons
from agent.sandbox.woo.shop import (
    Checkout,
    CheckoutError,
    CouponResult,
    FeeCharge,
    ItemLine,
    Product,
    ShippingCharge,
    Shop,
    ShopSettings,
    TaxTotal,
)
from agent.sandbox.woo.taxes import (
    ZERO,
    TaxRate,
    exclusive_taxes,
    find_rates,
    inclusive_taxes,
    merge_taxes,
    round_line_tax,
    round_money,
    round_tax_total,
    standard_slug,
)

__all__ = [
    "Checkout", "CheckoutError", "Coupon", "CouponResult", "FeeCharge", "ItemLine", "Product",
    "ShippingCharge", "Shop", "ShopSettings", "TaxRate", "TaxTotal", "compute",
]


def compute(shop: Shop, request: Mapping[str, Any]) -> Checkout:
    """Compute an order's money fields the way WooCommerce does for ``POST /orders`` (see module doc)."""
    s = shop.settings
    exempt = _meta_flag(request.get("meta_data") or [], "is_vat_exempt")
    shipping_req = [dict(x) for x in request.get("shipping_lines") or []]
    country = _tax_country(s, request, shipping_req)
    lines = [_item_line(shop, raw) for raw in request.get("line_items") or []]
    for line in lines:
        line.subtotal_taxes = {} if exempt else _line_taxes(shop, line, country, line.subtotal)
        line.subtotal_tax = _sum_rounded(line.subtotal_taxes, s)
    coupon_results = _apply_coupons(shop, lines, country, request.get("coupon_lines") or [])
    for line in lines:
        line.taxes = {} if exempt else _line_taxes(shop, line, country, line.total)
        if sum(line.subtotal_taxes.values(), ZERO) < sum(line.taxes.values(), ZERO):
            line.subtotal_taxes = dict(line.taxes)  # "Subtotal cannot be less than total!"
        line.subtotal_tax = _sum_rounded(line.subtotal_taxes, s)
        line.total_tax = _sum_rounded(line.taxes, s)
    shipping = [_shipping(shop, raw, lines, country, exempt) for raw in shipping_req]
    result = Checkout(
        currency=str(request.get("currency") or s.currency), tax_country=country, is_vat_exempt=exempt,
        lines=lines, shipping=shipping, fees=[], coupons=coupon_results, tax_lines=[],
    )
    result.fees = _fees(shop, result, request.get("fee_lines") or [])
    _totals(shop, result)
    return result


def _meta_flag(meta: Sequence[Mapping[str, Any]], key: str) -> bool:
    return any(m.get("key") == key and str(m.get("value")).lower() == "yes" for m in meta)


def _tax_country(s: ShopSettings, request: Mapping[str, Any], shipping: list[dict[str, Any]]) -> str:
    if s.tax_based_on == "base" or any(x.get("method_id") == "local_pickup" for x in shipping):
        return s.base_country
    billing = str((request.get("billing") or {}).get("country") or "")
    ship = str((request.get("shipping") or {}).get("country") or "")
    if s.tax_based_on == "shipping" and ship:
        return ship
    return billing or ship or s.base_country


def _decimal(value: Any, field_name: str) -> Decimal:
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation as exc:
        raise CheckoutError("rest_invalid_param", f"Invalid parameter(s): {field_name}") from exc


def _item_line(shop: Shop, raw: Mapping[str, Any]) -> ItemLine:
    product = _find_product(shop, raw)
    quantity = int(raw.get("quantity") or 1)
    gross = product.price * quantity
    net = gross
    if product.tax_status == "taxable" and shop.settings.prices_include_tax:
        base = find_rates(shop.rates, shop.settings.base_country, product.tax_class)
        net = gross - sum(inclusive_taxes(gross, base).values(), ZERO)
    subtotal = _decimal(raw["subtotal"], "subtotal") if "subtotal" in raw else net
    total = _decimal(raw["total"], "total") if "total" in raw else subtotal
    return ItemLine(product=product, quantity=quantity, subtotal=subtotal, total=total, request=raw)


def _find_product(shop: Shop, raw: Mapping[str, Any]) -> Product:
    ref = raw.get("variation_id") or raw.get("product_id")
    product = shop.products.get(int(ref)) if ref else None
    if product is None and raw.get("sku"):
        product = shop.product_by_sku(str(raw["sku"]))
    if product is None:
        raise CheckoutError("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
    return product


def _line_taxes(shop: Shop, line: ItemLine, country: str, amount: Decimal) -> dict[int, Decimal]:
    if not line.taxable:
        return {}
    return exclusive_taxes(amount, find_rates(shop.rates, country, line.tax_class))


def _sum_rounded(taxes: Mapping[int, Decimal], s: ShopSettings) -> Decimal:
    return sum((round_line_tax(t, s) for t in taxes.values()), ZERO)


def _apply_coupons(
    shop: Shop, lines: list[ItemLine], country: str, requested: Sequence[Mapping[str, Any]]
) -> list[CouponResult]:
    return apply_order_coupons(shop, lines, country, [_find_coupon(shop, str(c.get("code", ""))) for c in requested])


def _find_coupon(shop: Shop, code: str) -> Coupon:
    coupon = shop.coupons.get(code.lower())
    if coupon is None:
        raise CheckoutError("woocommerce_rest_invalid_coupon", f'Coupon "{code}" does not exist!')
    return coupon


def _shipping_class(shop: Shop, lines: list[ItemLine]) -> str | None:
    configured = shop.settings.shipping_tax_class
    if configured != "inherit":
        return standard_slug(configured)
    found = {line.tax_class for line in lines if line.product.tax_status in ("taxable", "shipping")}
    return next((c for c in ("", *shop.settings.tax_classes) if c in found), None)


def _shipping(
    shop: Shop, raw: Mapping[str, Any], lines: list[ItemLine], country: str, exempt: bool
) -> ShippingCharge:
    total = _decimal(raw.get("total") or "0", "shipping_lines.total")
    charge = ShippingCharge(
        method_id=str(raw.get("method_id", "")), method_title=str(raw.get("method_title", "")),
        instance_id=str(raw.get("instance_id", "")), total=total, request=raw,
    )
    tax_class = _shipping_class(shop, lines)
    if tax_class is not None and not exempt:
        charge.taxes = exclusive_taxes(total, find_rates(shop.rates, country, tax_class, shipping=True))
        charge.total_tax = _sum_rounded(charge.taxes, shop.settings)
    return charge


def _fees(shop: Shop, order: Checkout, requested: Sequence[Mapping[str, Any]]) -> list[FeeCharge]:
    """Fee totals first (calculate_totals caps a negative fee at what the order has so far), then their
    taxes (calculate_taxes runs after every fee's total is known)."""
    dp = shop.settings.decimals
    exact = shop.settings.round_at_subtotal  # get_cart_total_for_order: unrounded items when rounding at subtotal
    cart_total = sum((line.total if exact else round_money(line.total, dp) for line in order.lines), ZERO)
    shipping_total = sum((round_money(x.total, dp) for x in order.shipping), ZERO)
    fees: list[FeeCharge] = []
    for raw in requested:
        if not raw.get("name"):
            raise CheckoutError("woocommerce_rest_invalid_fee_item", "Fee name is required.")
        total = _decimal(raw.get("total") or "0", "fee_lines.total")
        if total < 0:  # a discount fee cannot take the order below zero
            floor = -round_money(cart_total + sum((f.total for f in fees), ZERO) + shipping_total, dp)
            total = max(total, floor) if floor < 0 else total
        fees.append(FeeCharge(name=str(raw["name"]), tax_class=standard_slug(str(raw.get("tax_class", ""))),
                              tax_status=str(raw.get("tax_status") or "taxable"), total=total, request=raw))
    for fee in fees:
        if fee.tax_status == "taxable" and not order.is_vat_exempt:
            fee.taxes = fee_taxes(shop, order, fee, fees)
            fee.total_tax = _sum_rounded(fee.taxes, shop.settings)
    return fees


def _totals(shop: Shop, order: Checkout) -> None:
    s = shop.settings

    def rnd(value: Decimal) -> Decimal:
        return round_line_tax(value, s)

    def item(value: Decimal) -> Decimal:  # round_item_subtotal
        return value if s.round_at_subtotal else round_money(value, s.decimals)

    cart_taxes: dict[int, Decimal] = {}
    shipping_taxes: dict[int, Decimal] = {}
    for taxes in [*(x.taxes for x in order.lines), *(f.taxes for f in order.fees)]:
        merge_taxes(cart_taxes, {k: rnd(v) for k, v in taxes.items()})
    for ship in order.shipping:
        merge_taxes(shipping_taxes, {k: rnd(v) for k, v in ship.taxes.items()})
    rate_ids = list(cart_taxes) + [k for k in shipping_taxes if k not in cart_taxes]
    order.tax_lines = [
        TaxTotal(shop.rate(k), cart_taxes.get(k, ZERO), shipping_taxes.get(k, ZERO)) for k in rate_ids
    ]
    order.cart_tax = sum(cart_taxes.values(), ZERO)
    order.shipping_tax = sum(shipping_taxes.values(), ZERO)
    order.total_tax = order.cart_tax + order.shipping_tax
    order.shipping_total = sum((round_money(x.total, s.decimals) for x in order.shipping), ZERO)
    cart_subtotal = sum((item(x.subtotal) for x in order.lines), ZERO)
    cart_total = sum((item(x.total) for x in order.lines), ZERO)
    order.discount_total = round_money(cart_subtotal - cart_total, s.decimals)
    subtotal_tax = sum((sum(x.subtotal_taxes.values(), ZERO) for x in order.lines), ZERO)
    total_tax = sum((sum(x.taxes.values(), ZERO) for x in order.lines), ZERO)
    order.discount_tax = round_tax_total(subtotal_tax - total_tax, prices_include_tax=s.prices_include_tax,
                                         decimals=s.decimals)  # fmt: skip
    fees_total = sum((f.total for f in order.fees), ZERO)
    order.total = round_money(
        cart_total + fees_total + order.shipping_total + order.cart_tax + order.shipping_tax, s.decimals
    )
