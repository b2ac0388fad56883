"""Implausible orders through the WooCommerce sandbox (issue 11 item 7): held with a reason a bookkeeper
understands, or failed when the numbers cannot be money; never a booked document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack
from agent.sandbox.demo_orders import order_payloads

from .conftest import drive  # type: ignore[import-not-found]


def payload(quantity: int) -> dict[str, Any]:
    base = next(iter(order_payloads(1, seed=11)))
    base["line_items"] = [{**base["line_items"][0], "quantity": quantity}]
    base.pop("coupon_lines", None)
    return base


def invoices(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.dyn.store.tables["debtor_invoice"].values())


async def outcome(stack: Stack, clock: ManualClock, order_id: int) -> tuple[str, str]:
    await drive(stack, clock)
    item = await stack.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None
    return item.state, item.reason or item.error or ""


async def test_negative_and_huge_quantities_are_held(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    negative = await s.shop.create_order(payload(-3))
    assert negative.line_items[0].total < 0  # the shop took it: -3 × the price
    state, reason = await outcome(s, clock, negative.id)
    assert state == "held" and "quantity -3" in reason and "1 or more" in reason, reason
    huge = await s.shop.create_order(payload(10**20))
    state, reason = await outcome(s, clock, huge.id)
    assert state == "held" and "max_quantity" in reason, reason
    assert invoices(s) == []


async def test_total_above_the_limit_is_held(make_stack: Any) -> None:
    clock, ctx = make_stack(plausibility={"max_order_total": "100"})
    async with ctx as s:
        order = await s.shop.create_order(payload(5))
        assert order.total > Decimal(100)
        state, reason = await outcome(s, clock, order.id)
        assert state == "held" and "max_order_total = 100.00" in reason, reason
        assert invoices(s) == []


async def test_numbers_that_cannot_be_money_fail_the_order(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    absurd = await s.shop.create_order(payload(1))
    s.woo.state.broken_orders[absurd.id] = {"total": "1e30", "shipping_total": "1e30"}
    not_a_number = await s.shop.create_order(payload(1))
    s.woo.state.broken_orders[not_a_number.id] = {"total": "NaN"}
    for order_id, shown in ((absurd.id, "beyond any real amount"), (not_a_number.id, "total\n  Input should be a finite number")):
        state, reason = await outcome(s, clock, order_id)
        assert state == "failed" and shown in reason and "InvalidOperation" not in reason, reason
    assert invoices(s) == []


async def test_totals_that_do_not_add_up_are_not_booked(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    order = await s.shop.create_order(payload(2))
    s.woo.state.broken_orders[order.id] = {"total": str(order.total + 50)}
    state, reason = await outcome(s, clock, order.id)
    assert state == "held", reason
    assert [i["is_booked"] for i in invoices(s)] in ([], [0], [False])
