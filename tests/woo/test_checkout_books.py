"""Issue 12's WooCommerce arithmetic, checked against WooCommerce 10.0.2's PHP (class-wc-order-item-fee.php
get_tax_class_costs / calculate_taxes, abstract-wc-order.php update_taxes / calculate_totals,
trait-wc-item-totals.php round_line_tax / round_item_subtotal, wc_round_tax_total)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from agent.sandbox.woo.checkout import ShopSettings, compute
from agent.sandbox.woo.seed import danish_shop
from agent.woo.client import WooClient

D = Decimal
DK = {"country": "DK"}


def _cart(*items: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {"line_items": [{"product_id": p, "quantity": q} for p, q in items], "billing": DK, "shipping": DK, **extra}


def test_negative_fee_is_apportioned_over_classes_with_shipping_on_the_first_items_class() -> None:
    """get_tax_class_costs: shipping's ``inherit`` class is the first class among the line items (here
    zero-rate, since the newspaper comes first), other fees count too, negative amounts are left out."""
    cart = _cart((106, 2), (11, 1), shipping_lines=[{"method_id": "flat_rate", "total": "40.00"}],
                 fee_lines=[{"name": "Rabat", "total": "-20.00"}, {"name": "Gebyr", "total": "10.00"}])  # fmt: skip
    result = compute(danish_shop(), cart)
    rebate, charge = result.fees
    # costs: zero-rate 60 + 40 shipping = 100, standard 79.20 + 10 fee = 89.20 → 25 % on -20 × 89.20/189.20
    assert rebate.taxes == {6: D("0"), 1: D("-2.357294")}
    assert rebate.total_tax == D("-2.36") and charge.total_tax == D("2.50")
    [standard, zero] = sorted(result.tax_lines, key=lambda t: -t.rate.rate)
    assert (standard.tax_total, zero.tax_total, zero.shipping_tax_total) == (D("19.94"), D("0"), D("0"))


def test_reduced_rate_classes_per_country() -> None:
    de = compute(danish_shop(), _cart((107, 1), (11, 1), billing={"country": "DE"}, shipping={"country": "DE"}))
    rates = {t.rate.id: (t.rate.country, t.rate.rate, t.tax_total) for t in de.tax_lines}
    assert rates == {7: ("DE", D(7), D("7.22")), 2: ("DE", D(19), D("15.05"))}


def test_round_at_subtotal_with_prices_excl_tax() -> None:
    """Line taxes unrounded, items summed unrounded, coupon discount_tax unrounded ("8.3325"), totals half up."""
    shop = danish_shop(settings=ShopSettings(prices_include_tax=False, round_at_subtotal=True))
    products = {k: replace(p, price=D("33.33")) if k == 11 else p for k, p in shop.products.items()}
    result = compute(replace(shop, products=products), _cart((11, 10), coupon_lines=[{"code": "velkommen10"}]))
    line = result.lines[0]
    assert (line.total, line.taxes[1], line.total_tax) == (D("299.97"), D("74.9925"), D("74.9925"))
    assert result.coupons[0].discount_tax == D("8.3325") and result.coupons[0].discount == D("33.33")
    assert (result.cart_tax, result.total) == (D("74.9925"), D("374.96"))
    [tax] = result.tax_lines
    assert tax.tax_total == D("74.9925")  # stored unrounded; REST prints it half up as "74.99"


def test_tax_totals_round_half_down_when_prices_include_tax() -> None:
    """wc_round_tax_total with WC_TAX_ROUNDING_MODE auto: half down for shops with prices incl. tax."""
    result = compute(danish_shop(), _cart((11, 1), shipping_lines=[{"method_id": "flat_rate", "total": "39.50"}]))
    assert result.shipping[0].taxes == {1: D("9.875")} and result.shipping_tax == D("9.87")


async def test_dp_6_shows_the_unrounded_nets_over_http(client: WooClient) -> None:
    """``GET /orders/<id>?dp=6``: WooCommerce's stored 6-decimal line net (3 × 33.33 incl. 25 % → 79.992)."""
    products = {"line_items": [{"product_id": 11, "quantity": 3, "subtotal": "79.992", "total": "79.992"}]}
    order = await client.create_order({**products, "billing": DK, "shipping": DK, "set_paid": True})
    rounded = await client.request("GET", f"orders/{order.id}")
    exact = await client.request("GET", f"orders/{order.id}", params={"dp": 6})
    assert rounded["line_items"][0]["total"] == "79.99" and exact["line_items"][0]["total"] == "79.992000"
    assert exact["line_items"][0]["taxes"][0]["total"] == "19.998000" and exact["total"] == rounded["total"] + "0000"
    again = await client.request("GET", f"orders/{order.id}")
    assert again["line_items"][0]["total"] == "79.99"  # the next request renders with its own dp
