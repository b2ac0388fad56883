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
