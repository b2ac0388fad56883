"""Batch stock writes: per-item errors surface, the rest applies; manage_stock "parent"; ≤ 100 per call."""

from __future__ import annotations

import pytest

from agent.sandbox.woo import WooSandbox
from agent.woo.client import WooClient
from agent.woo.errors import WooRejected
from agent.woo.stock import StockUpdate


async def test_one_bad_item_is_reported_and_the_rest_applied(client: WooClient, sandbox: WooSandbox) -> None:
    result = await client.batch_update_stock([
        StockUpdate(11, 30), StockUpdate(999, 5), StockUpdate(107, 12),
        StockUpdate(14, 3, parent_id=13), StockUpdate(998, 1, parent_id=13, manage_stock=True),
    ])
    assert [(e.id, e.code) for e in result.errors] == [
        (999, "woocommerce_rest_product_invalid_id"), (998, "woocommerce_rest_product_variation_invalid_id")]
    assert (sandbox.stock(11), sandbox.stock(107), sandbox.stock(14)) == (30, 12, 3)
    assert {p.id for p in result.updated} == {11, 107, 14}


async def test_parent_managed_variation_writes_the_parent(client: WooClient, sandbox: WooSandbox) -> None:
    result = await client.batch_update_stock([StockUpdate(102, 7, parent_id=101)])
    assert result.ok and result.redirected == {102: 101}
    assert sandbox.state.items[101].stock_quantity == 7
    assert (await client.get_variation(101, 103)).stock_quantity == 7  # variations show the parent's stock


async def test_unmanaged_item_is_reported_not_silently_dropped(client: WooClient) -> None:
    result = await client.batch_update_stock([StockUpdate(12, 4)])
    assert [e.code for e in result.errors] == ["stock_not_applied"]
    enabled = await client.batch_update_stock([StockUpdate(12, 4, enable=True)])
    assert enabled.ok and enabled.updated[0].stock_quantity == 4


async def test_more_than_100_items_are_split(client: WooClient, sandbox: WooSandbox) -> None:
    updates = [StockUpdate(11, 1)] + [StockUpdate(10_000 + n, 1) for n in range(150)]
    result = await client.batch_update_stock(updates)
    assert result.calls == 2 and len(result.errors) == 150 and sandbox.stock(11) == 1
    with pytest.raises(WooRejected) as info:
        await client.request("POST", "products/batch", json={"update": [{"id": 11, "stock_quantity": 1}] * 101})
    assert info.value.status == 413


async def test_global_stock_option_off_behaves_like_woocommerce(client: WooClient, sandbox: WooSandbox) -> None:
    """WC10: managing_stock() is false for every item while woocommerce_manage_stock is "no"; the products
    controller skips the stock block silently, the variations controller still writes."""
    sandbox.state.manage_stock_option = False
    assert (await client.get_setting("products", "woocommerce_manage_stock")).value == "no"
    assert (await client.get_product(11)).manage_stock is False
    result = await client.batch_update_stock([StockUpdate(11, 3, manage_stock=True),
                                              StockUpdate(14, 2, parent_id=13, manage_stock=True)])
    assert [e.id for e in result.errors] == [11]  # silently not applied: the writer reports it
    assert sandbox.state.items[11].stock_quantity == 50 and sandbox.state.items[14].stock_quantity == 2


async def test_sku_list_matches_exactly_and_the_whole_string(client: WooClient, sandbox: WooSandbox) -> None:
    sandbox.set_product(12, sku="A,B")  # a SKU with a comma: WC10 adds the whole value to the IN list
    found = await client.list_products(sku="A,B")
    assert [p.id for p in found] == [12]
    assert {p.id for p in await client.list_products(sku="TSHIRT-S,HOODIE-M,KRUS")} == {14, 103}
