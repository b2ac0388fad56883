"""The pure stock diff: which SKUs changed and what is written where (no I/O, table-driven)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent.journal.stock import Memory
from agent.stock.diff import Candidate, DynStock, changed, plan_writes, shop_quantity, sold_not_booked
from agent.woo.resources import Product
from agent.woo.stock import StockUpdate

D = Decimal


def mem(sku: str, qty: str, time: str, state: str = "ok") -> Memory:
    return Memory(sku, qty, time, None, state)


@pytest.mark.parametrize(("level", "memory", "expected"), [
    (DynStock("A", D(5), time="100"), None, True),  # never seen
    (DynStock("A", D(5), time="100"), mem("A", "5", "100"), False),  # time_stock_change did not move
    (DynStock("A", D(5), time="101"), mem("A", "5", "100"), True),  # it moved
    (DynStock("A", D(4), time="100"), mem("A", "5", "100"), True),  # same second, other quantity
    (DynStock("A", D(5), time="100"), mem("A", "5", "100", "error"), True),  # failed last run: retried
    (DynStock("A", D(5), time="100"), mem("A", "5", "100", "pending"), True),  # write cut off: retried
    (DynStock("A", D(5), time="100"), mem("A", "5", "100", "skipped"), False),  # left alone until it moves
    (DynStock("A", D(5), time="100"), mem("A", "5", "100", "disagrees"), False),  # reported; not rewritten
])  # fmt: skip
def test_changed(level: DynStock, memory: Memory | None, expected: bool) -> None:
    found = changed([level], {memory.sku: memory} if memory else {}, "in_stock")
    assert bool(found) is expected


@pytest.mark.parametrize(("own_sold", "sold", "expected"), [
    (None, {}, False), (0, {"B": 3}, False),  # nothing sold of this SKU, before and now
    (2, {"A": 2}, False),  # the same units still sold, not booked
    (None, {"A": 2}, True), (0, {"A": 2}, True),  # a sale the last run did not know of
    (2, {}, True), (2, {"A": 1}, True),  # booked (or cancelled, restocked) since, Dynaccount not moved
])  # fmt: skip
def test_a_change_in_units_sold_not_booked_makes_the_sku_due(own_sold: int | None, sold: dict[str, int],
                                                              expected: bool) -> None:  # fmt: skip
    memory = Memory("A", "5", "100", None, "ok", own_sold)
    assert bool(changed([DynStock("A", D(5), time="100")], {"A": memory}, "in_stock", sold=sold)) is expected


def test_reserved_stock_is_one_rule() -> None:
    level = DynStock("A", D(10), D(3))
    assert (shop_quantity(level, "in_stock"), shop_quantity(level, "available")) == (D(10), D(7))
    assert changed([level], {"A": mem("A", "10", "")}, "available")  # switching the setting rewrites


def product(id_: int, sku: str, qty: int | None = 1, manage: bool | str = True, parent: int = 0,
            type_: str = "simple", backorders: str = "no") -> Product:  # fmt: skip
    return Product(id=id_, sku=sku, stock_quantity=qty, manage_stock=manage, parent_id=parent,
                   type="variation" if parent else type_, backorders=backorders)  # type: ignore[arg-type]


def plan(cands: dict[str, Decimal], shop: dict[str, list[Product]], families: dict[int, list[Product]] | None = None,
         quantities: dict[str, Decimal] | None = None, enable: bool = False,
         sold: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    return plan_writes([Candidate(s, q, "") for s, q in cands.items()], shop, quantities or cands, families or {},
                       enable=enable, sold=sold)


def test_unchanged_not_written_changed_written_where_it_belongs() -> None:
    p = plan({"A": D(5), "B": D(7)}, {"A": [product(1, "A", 5)], "B": [product(3, "B", 1, parent=2)]})
    assert p.updates == [StockUpdate(3, 7, 2, True)]
    assert [(r.sku, r.state, r.reason) for r in p.results] == [("A", "ok", "unchanged"), ("B", "ok", "written")]


def test_parent_managed_variations_write_the_parent_once_with_their_sum() -> None:
    parent = product(10, "", 3, manage=True, type_="variable")
    kids = [product(11, "K1", 3, "parent", 10), product(12, "K2", 3, "parent", 10)]
    p = plan({"K1": D(2), "K2": D(4)}, {"K1": [kids[0]], "K2": [kids[1]]}, {10: [parent, *kids]})
    assert p.updates == [StockUpdate(10, 6, 0, True)]
    assert {r.owner_id for r in p.results} == {10}
    # the parent's own SKU in Dynaccount wins over the sum
    parent_sku = product(10, "P", 3, manage=True, type_="variable")
    p = plan({"K1": D(2)}, {"K1": [kids[0]]}, {10: [parent_sku, *kids]}, {"K1": D(2), "K2": D(4), "P": D(9)})
    assert p.updates == [StockUpdate(10, 9, 0, True)]


@pytest.mark.parametrize(("shop", "qty", "enable", "state", "reason"), [
    ([], D(1), False, "error", "no product or variation in the shop has this SKU"),
    ([product(1, "A"), product(2, "A")], D(1), False, "error", "the SKU is on more than one shop item (1, 2)"),
    ([product(1, "A", None, False)], D(1), False, "skipped", "does not manage stock in the shop (left alone)"),
    ([product(1, "A", None, False, type_="grouped")], D(1), True, "skipped", "grouped products keep no stock"),
    ([product(1, "A")], D("2.5"), False, "error", "Dynaccount's quantity 2.5 is not a whole number"),
    ([product(1, "A")], D(-3), False, "ok", "written (-3 left; no backorders, so 0)"),
    ([product(1, "A", backorders="notify")], D(-3), False, "ok", "written"),
    ([product(1, "A", None, False)], D(4), True, "ok", "written"),
])  # fmt: skip
def test_bad_data_and_settings(shop: list[Product], qty: Decimal, enable: bool, state: str, reason: str) -> None:
    [result] = plan({"A": qty}, {"A": shop}, enable=enable).results
    assert (result.state, result.reason) == (state, reason)


def test_enable_switches_stock_management_on_in_the_same_write() -> None:
    p = plan({"A": D(4)}, {"A": [product(1, "A", None, False)]}, enable=True)
    assert p.updates == [StockUpdate(1, 4, 0, False, enable=True)]
    assert plan({"A": D(-2)}, {"A": [product(1, "A", 0, backorders="yes")]}).updates == [StockUpdate(1, -2, 0, True)]


def test_units_sold_in_the_shop_and_not_yet_booked_are_kept_out() -> None:
    orders = [
        {"line_items": [{"sku": "A", "meta_data": [{"key": "_reduced_stock", "value": "2"}]},
                        {"sku": "B", "meta_data": []}]},  # B was not reduced (pending order, or no stock kept)
        # 3 bought, 1 restocked by a refund: WooCommerce itself lowered _reduced_stock 3 -> 2 (real shop)
        {"line_items": [{"sku": "A", "meta_data": [{"key": "_reduced_stock", "value": "2"},
                                                   {"key": "_restock_refunded_items", "value": "1"}]}]},
    ]  # fmt: skip
    sold = sold_not_booked(orders)
    assert sold == {"A": 4}
    p = plan({"A": D(10)}, {"A": [product(1, "A", 6)]}, sold=sold)
    assert p.updates == [] and p.results[0].reason == "unchanged (4 sold in the shop, not yet booked)"
    p = plan({"A": D(12)}, {"A": [product(1, "A", 6)]}, sold=sold)  # goods received in Dynaccount: +2
    assert p.updates == [StockUpdate(1, 8, 0, True)]  # not 12: the 4 sold units stay sold


def test_sold_units_of_the_real_order_17_after_its_restocked_refund() -> None:
    """The captured order 17 (2 mugs, one refunded and restocked; 1 T-shirt S; gift wrap unmanaged): WooCommerce
    left ``_reduced_stock`` 1 and ``_restock_refunded_items`` 1 on the mug line — one mug is still sold."""
    real = json.loads((Path(__file__).parent.parent / "fixtures/woocommerce-real/rest/order.json").read_text())
    assert sold_not_booked([real["body"]]) == {"KRUS-001": 1, "TSHIRT-S": 1}
