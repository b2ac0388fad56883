"""Refunds of orders whose invoice is still a draft: update the draft, or wait until it is booked."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from agent.app import JOURNAL
from agent.sandbox.demo import Stack, place_orders, refund_some

from .conftest import drive  # type: ignore[import-not-found]


def _docs(stack: Stack, table: str, reference: str) -> list[dict[str, Any]]:
    store = stack.dyn.store
    return [store.render(table, r) for r in store.tables[table].values() if r.get("requisition") == reference]


async def _human_books(stack: Stack, order_id: int) -> None:
    [invoice] = _docs(stack, "debtor_invoice", f"woo/order-{order_id}")
    await stack.services.dyn.book_invoice(int(invoice["id"]))
    await stack.services.sweep.run_once()  # the sweep looks at draft invoices again


async def test_update_draft_nets_the_refund_and_never_credits_it_twice(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(invoice={"mode": "draft"}, refunds={"draft_policy": "update_draft"})
    async with ctx as s:
        [order_id] = await place_orders(s, 1)
        await drive(s, clock)
        [draft] = _docs(s, "debtor_invoice", f"woo/order-{order_id}")
        order = await s.shop.get_order(order_id)
        assert draft["is_booked"] in (False, "NO", 0) and Decimal(str(draft["total_amount"])) == order.total
        await refund_some(s, [order_id], {0: "partial_qty"})
        await drive(s, clock)
        [refund_amount] = s.refunds.values()
        [draft] = _docs(s, "debtor_invoice", f"woo/order-{order_id}")
        assert Decimal(str(draft["total_amount"])) == order.total - refund_amount
        await _human_books(s, order_id)
        await drive(s, clock)
        link = await s.app[JOURNAL].get_link("order", order_id)
        assert link is not None and link.state == "booked"
        assert not s.dyn.store.tables["debtor_creditnote"], "the netted refund must not be credited again"
        # a refund after booking becomes a credit note as usual
        await refund_some(s, [order_id], {0: "amount"})
        await drive(s, clock)
        assert len(s.dyn.store.tables["debtor_creditnote"]) == 1


async def test_wait_until_booked_then_credit(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(invoice={"mode": "draft"}, refunds={"draft_policy": "wait_until_booked"})
    async with ctx as s:
        [order_id] = await place_orders(s, 1)
        await drive(s, clock)
        await refund_some(s, [order_id], {0: "line"})
        await drive(s, clock)
        item = await s.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and "wait until invoice" in (item.reason or "")
        assert item.state == "waiting", "a refund waiting for the booking is neither skipped nor done"
        assert not s.dyn.store.tables["debtor_creditnote"]
        # the drafts watch asks Dynaccount: the draft is unchanged, so nothing is re-queued
        await s.services.sweep.drafts.run()
        item = await s.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "waiting"
        [draft] = _docs(s, "debtor_invoice", f"woo/order-{order_id}")
        order = await s.shop.get_order(order_id)
        assert Decimal(str(draft["total_amount"])) == order.total  # untouched
        await _human_books(s, order_id)
        await drive(s, clock)
        [refund_id] = s.refunds
        [note] = _docs(s, "debtor_creditnote", f"woo/refund-{refund_id}")
        assert Decimal(str(note["total_amount"])) == s.refunds[refund_id]


async def test_draft_of_an_order_refunded_in_full_is_updated_and_says_so(make_stack: Callable[..., Any]) -> None:
    """Issue 12 item 5: the draft of an order that becomes ``refunded`` is still updated (update_draft),
    and the item says so instead of "skipped"."""
    clock, ctx = make_stack(invoice={"mode": "draft"}, refunds={"draft_policy": "update_draft"})
    async with ctx as s:
        [order_id] = await place_orders(s, 1)
        await drive(s, clock)
        await refund_some(s, [order_id], {0: "full"})
        await drive(s, clock)
        assert (await s.shop.get_order(order_id)).status == "refunded"
        [draft] = _docs(s, "debtor_invoice", f"woo/order-{order_id}")
        assert Decimal(str(draft["total_amount"])) == 0 and draft["is_booked"] in (False, "NO", 0)
        item = await s.app[JOURNAL].get_work(f"order:{order_id}")
        [refund_id] = s.refunds
        assert item is not None and item.state == "done", item
        assert f"net of refund(s) {refund_id}" in (item.reason or "")
