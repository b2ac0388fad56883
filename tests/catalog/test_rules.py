"""The pure product rules: price excl. VAT, product number, group, bad data (issue 15)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.catalog.rules import BadData, Rate, ShopFacts, differs, net_price, product_fields, product_group
from agent.plan.settings import ProductSettings

D = Decimal
DK = (Rate("DK", "", D(25), 1, False, "standard"), Rate("DE", "", D(19), 1, False, "standard"),
      Rate("", "", D(0), 1, False, "zero-rate"))  # fmt: skip


def facts(include: bool = True, rates: tuple[Rate, ...] = DK) -> ShopFacts:
    return ShopFacts(prices_include_tax=include, base_country="DK", rates=rates)


def test_inclusive_price_uses_the_base_country_rate_of_the_class() -> None:
    assert net_price(D("99.00"), "taxable", "", facts()) == D("79.20")
    assert net_price(D("99.00"), "taxable", "zero-rate", facts()) == D("99.00")  # wildcard country, 0 %
    assert net_price(D("99.00"), "taxable", "reduced-rate", facts()) == D("99.00")  # no rate for the class
    assert net_price(D("99.00"), "none", "", facts()) == D("99.00")  # not taxable: the price is the net
    assert net_price(D("99.00"), "taxable", "", facts(include=False)) == D("99.00")


def test_compound_rate_comes_off_first() -> None:
    rates = (Rate("DK", "", D(10), 1, False, "standard"), Rate("DK", "", D(5), 2, True, "standard"))
    # gross = net * 1.10 * 1.05 = net * 1.155
    assert net_price(D("115.50"), "taxable", "", facts(rates=rates)) == D("100.00")


def test_price_that_is_not_a_number_is_bad_data() -> None:
    with pytest.raises(BadData, match="'12,50 kr' is not a number"):
        product_fields({"id": 5, "sku": "X", "name": "X", "regular_price": "12,50 kr"}, None, facts(),
                       ProductSettings())  # fmt: skip


def test_no_sku_reported_or_numbered() -> None:
    with pytest.raises(BadData, match="no SKU"):
        product_fields({"id": 5, "sku": "", "name": "X", "regular_price": "10"}, None, facts(), ProductSettings())
    got = product_fields({"id": 5, "sku": "", "name": "X", "regular_price": "10"}, None, facts(),
                         ProductSettings(no_sku="WOO-{id}"))  # fmt: skip
    assert got.product_id_ == "WOO-5"


def test_group_by_category_then_tax_class_then_default() -> None:
    s = ProductSettings(group_by_category={"kaffe": "Kaffe", "Tøj": "Tekstil", "tax:zero-rate": "Aviser"})
    assert product_group([{"slug": "andet"}, {"slug": "kaffe"}], "", s) == "Kaffe"
    assert product_group([{"slug": "toj", "name": "Tøj"}], "", s) == "Tekstil"
    assert product_group([{"slug": "andet"}], "zero-rate", s) == "Aviser"
    assert product_group([], "", s) == "Varer"


def test_variation_takes_parent_tax_class_name_and_category() -> None:
    parent = {"id": 1, "name": "T-shirt", "tax_class": "zero-rate", "categories": [{"slug": "kaffe"}]}
    var = {"id": 2, "type": "variation", "name": "S", "sku": "T-S", "regular_price": "100", "tax_class": "parent"}
    got = product_fields(var, parent, facts(), ProductSettings(group_by_category={"kaffe": "Kaffe"}))
    assert (got.name, got.price, got.product_group_name) == ("T-shirt - S", D("100.00"), "Kaffe")


def test_differs_compares_decimals_by_value() -> None:
    wanted = product_fields({"id": 1, "sku": "A", "name": "A", "regular_price": "125"}, None, facts(),
                            ProductSettings(text="none"))  # fmt: skip
    held = {"name": "A", "price": "100.0000", "product_group_name": "Varer", "unit_name": "stk", "weight": "0"}
    assert differs(wanted, held) == []
    assert differs(wanted, {**held, "price": "99"}) == ["price"]
