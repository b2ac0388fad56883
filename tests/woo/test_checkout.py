"""WooCommerce checkout arithmetic against the real captured orders and spec §11."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from agent.sandbox.woo.checkout import CheckoutError, compute
from agent.sandbox.woo.orderjson import order_json
from agent.sandbox.woo.seed import danish_shop
from agent.woo.models import Order

from .helpers import CART_17, CART_19, key_paths, real_rest

D = Decimal
MONEY = ("discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax")


def _when() -> datetime:
    return datetime(2026, 11, 24, 5, 56, 49, tzinfo=UTC)


def test_real_order_17_money() -> None:
    result = compute(danish_shop(), CART_17)
    assert (result.total, result.total_tax, result.cart_tax) == (D("428.80"), D("85.76"), D("75.96"))
    assert (result.discount_total, result.discount_tax) == (D("33.76"), D("8.44"))


@pytest.mark.parametrize(("cart", "real"), [(CART_17, "order-created-response.json"),
                                            (CART_19, "order-de-created-response.json")])
def test_rendered_order_matches_capture(cart: dict, real: str) -> None:
    captured = real_rest(real)
    ours = order_json(danish_shop(), cart, order_id=captured["id"], home="https://127.0.0.1:8080/", now=_when)
    assert key_paths(ours) == key_paths(captured)
    assert list(ours) == list(captured)  # key order too
    for key in MONEY:
        assert ours[key] == captured[key], key
    for mine, theirs in zip(ours["line_items"], captured["line_items"], strict=True):
        for key in ("name", "product_id", "variation_id", "quantity", "subtotal", "subtotal_tax", "total",
                    "total_tax", "taxes", "sku", "price", "image", "parent_name"):
            assert mine[key] == theirs[key], key
    strip = ("id",)
    assert [{k: v for k, v in t.items() if k not in strip} for t in ours["tax_lines"]] == \
        [{k: v for k, v in t.items() if k not in strip} for t in captured["tax_lines"]]
    for mine, theirs in zip(ours["coupon_lines"], captured["coupon_lines"], strict=True):
        assert {k: mine[k] for k in ("code", "discount", "discount_tax", "discount_type", "nominal_amount")} == \
            {k: theirs[k] for k in ("code", "discount", "discount_tax", "discount_type", "nominal_amount")}
        assert mine["meta_data"][0]["value"] == theirs["meta_data"][0]["value"]
    Order.model_validate(ours)


def test_percent_coupon_remainder_cent() -> None:
    # Spec §11.6: 10 % of 99.99 is 10.00 -> 8.00 + 2.00 (floor per line, remainder cent spread).
    shop = danish_shop()
    cart = {"line_items": [{"product_id": 104, "quantity": 1, "subtotal": "79.992", "total": "79.992"}],
            "coupon_lines": [{"code": "velkommen10"}], "billing": {"country": "DK"}}
    result = compute(shop, cart)
    assert result.coupons[0].discount + result.coupons[0].discount_tax == D("10.00")
    assert result.coupons[0].discount_tax == D("2.00")


def test_three_times_3333_keeps_unrounded_net() -> None:
    from dataclasses import replace

    from agent.sandbox.woo.checkout import Shop
    base = danish_shop()
    products = dict(base.products)
    products[104] = replace(products[104], price=D("33.33"))
    shop = Shop(base.settings, base.rates, products, base.coupons)
    line = compute(shop, {"line_items": [{"product_id": 104, "quantity": 3}], "billing": {"country": "DK"}}).lines[0]
    assert line.subtotal == D("79.992000")


@pytest.mark.parametrize(("country", "gross"), [("DK", D("79.00")), ("SE", D("79.00")), ("FR", D("75.84")),
                                                ("NO", D("63.20"))])
def test_foreign_customers_keep_base_net(country: str, gross: Decimal) -> None:
    shop = danish_shop()
    result = compute(shop, {"line_items": [{"product_id": 105, "quantity": 1}], "billing": {"country": country}})
    assert result.total == gross
    assert bool(result.tax_lines) is (country != "NO")


def test_vat_exempt_has_no_taxes() -> None:
    cart = dict(CART_17, coupon_lines=[], meta_data=[{"key": "is_vat_exempt", "value": "yes"}])
    result = compute(danish_shop(), cart)
    assert result.total_tax == 0 and result.tax_lines == []
    assert result.total == D("158.40") + D("159.20") + D("20.00") + D("39.20")


def test_fixed_cart_splits_per_unit() -> None:
    cart = {"line_items": [{"product_id": 11, "quantity": 2}, {"product_id": 12, "quantity": 1}],
            "coupon_lines": [{"code": "fast50"}], "billing": {"country": "DK"}}
    result = compute(danish_shop(), cart)
    # 5000 cents over 3 units: 1666 each, the remaining 2 cents one per unit from the most expensive line.
    assert result.coupons[0].discount + result.coupons[0].discount_tax == D("50.00")
    assert result.total == D("99.00") * 2 + D("25.00") - D("50.00")


def test_fixed_product_capped_and_fee_unrounded() -> None:
    cart = {"line_items": [{"product_id": 104, "quantity": 2}], "coupon_lines": [{"code": "krus20"}],
            "fee_lines": [{"name": "Gebyr", "total": "9.995"}], "billing": {"country": "DK"}}
    result = compute(danish_shop(), cart)
    assert result.lines[0].total == 0  # 20.00 off a 10.00 unit stops at the unit price
    assert result.fees[0].total == D("9.995")  # kept unrounded (spec §11.7)
    assert result.fees[0].total_tax == D("2.50")
    assert result.total == D("12.50")  # round(9.995 + 2.50)


def test_zero_rate_cart_shipping_and_rate_code_collision() -> None:
    cart = {"line_items": [{"product_id": 106, "quantity": 1}, {"product_id": 107, "quantity": 1}],
            "shipping_lines": [{"method_id": "flat_rate", "total": "40.00"}], "billing": {"country": "DK"}}
    result = compute(danish_shop(), cart)
    codes = [(t.rate.id, t.rate.rate_code) for t in result.tax_lines]
    assert codes == [(6, "DK-MOMSFRI-1"), (5, "DK-MOMS-1")]
    assert result.shipping_tax == D("10.00")  # inherit: reduced-rate found before zero-rate


def test_unknown_coupon_is_rejected() -> None:
    with pytest.raises(CheckoutError) as info:
        compute(danish_shop(), {"line_items": [{"product_id": 11}], "coupon_lines": [{"code": "nope"}]})
    assert info.value.code == "woocommerce_rest_invalid_coupon"
