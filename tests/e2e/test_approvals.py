"""The approval queue against both sandboxes: approve books as planned, dismiss books nothing, re-plan
with an edited mapping books on the new code; every decision says who and when."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from agent.__main__ import run_command
from agent.app import JOURNAL
from agent.approvals import ApprovalError, Approvals
from agent.clock import ManualClock
from agent.operations import decide, held
from agent.sandbox.demo import Stack

from .conftest import drive  # type: ignore[import-not-found]


async def held_order(s: Stack, clock: ManualClock, *, country: str = "DK") -> int:
    """13 × 0.99 incl. VAT: Dynaccount's per-line rounding cannot reach WooCommerce's total (one øre off)."""
    s.woo.state.update_product(11, {"regular_price": "0.99"})
    order = await s.shop.create_order({
        "payment_method": "bacs", "set_paid": True, "line_items": [{"product_id": 11, "quantity": 13}],
        "billing": {"country": country, "email": "held@example.dk", "first_name": "Hanne"},
        "shipping": {"country": country},
    })  # fmt: skip
    await drive(s, clock)
    return order.id


@pytest.fixture
async def strict(make_stack: Callable[..., Any]) -> AsyncIterator[tuple[Stack, ManualClock]]:
    clock, ctx = make_stack(invoice={"rounding_tolerance": "0"})
    async with ctx as s:
        yield s, clock


def invoices(s: Stack, order_id: int) -> list[dict[str, Any]]:
    return [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == f"woo/order-{order_id}"]


async def test_approve_books_the_held_invoice_as_planned(strict: tuple[Stack, ManualClock]) -> None:
    s, clock = strict
    order_id = await held_order(s, clock)
    key = f"order:{order_id}"
    approvals = Approvals(s.app[JOURNAL])
    [item] = await approvals.held()
    assert item.key == key and item.approvable and "totals differ from WooCommerce" in item.reason
    assert item.plan is not None
    planned = Decimal(item.plan["totals"]["total"])
    assert abs(planned - Decimal("12.87")) == Decimal("0.01")  # what would be booked: one øre off the shop's
    [draft] = invoices(s, order_id)
    assert draft["is_booked"] in (False, "NO", 0)
    clock.advance(60)
    await approvals.approve(key, "bookkeeper@shop")
    await drive(s, clock)
    [invoice] = invoices(s, order_id)  # the draft itself was booked, not a second invoice
    assert invoice["id"] == draft["id"] and invoice["invoice_id_"] and invoice["total_amount"] == planned
    work = await s.app[JOURNAL].get_work(key)
    assert work is not None and work.state == "done"
    [decision] = await approvals.history(key)
    assert (decision.action, decision.by, decision.at) == ("approve", "bookkeeper@shop", clock.now())
    timeline = [e.message for e in await s.app[JOURNAL].list_events(key)]
    assert "approved by bookkeeper@shop: book invoice as planned" in timeline
    assert "booking as planned: approved by bookkeeper@shop" in timeline


async def test_an_approval_does_not_carry_over_to_a_changed_order(strict: tuple[Stack, ManualClock]) -> None:
    s, clock = strict
    order_id = await held_order(s, clock)
    key = f"order:{order_id}"
    approvals = Approvals(s.app[JOURNAL])
    await approvals.approve(key, "bookkeeper")
    await s.shop.update_order(order_id, {"customer_note": "please gift wrap"})  # the plan changes
    await drive(s, clock)
    work = await s.app[JOURNAL].get_work(key)
    assert work is not None and work.state == "held"
    assert not invoices(s, order_id)[0]["invoice_id_"]


async def test_dismiss_is_done_without_booking_until_the_order_changes(strict: tuple[Stack, ManualClock]) -> None:
    s, clock = strict
    order_id = await held_order(s, clock)
    key = f"order:{order_id}"
    approvals = Approvals(s.app[JOURNAL])
    with pytest.raises(ApprovalError, match="why"):
        await approvals.dismiss(key, "owner", " ")
    await approvals.dismiss(key, "owner", "test order, never shipped")
    await drive(s, clock)
    work = await s.app[JOURNAL].get_work(key)
    assert work is not None and work.state == "done"
    assert work.reason == "dismissed by owner: test order, never shipped; nothing booked"
    assert not invoices(s, order_id)[0]["invoice_id_"]  # the draft stays a draft
    with pytest.raises(ApprovalError, match="not held"):
        await approvals.approve(key, "owner")
    await s.shop.update_order(order_id, {"customer_note": "changed"})
    await drive(s, clock)
    work = await s.app[JOURNAL].get_work(key)
    assert work is not None and work.state == "held"  # a new version of the order is looked at again


async def test_replan_with_an_edited_mapping(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(vat={"oss_code": ""})  # no OSS codes: a German consumer's VAT has no code
    async with ctx as s:
        order = await s.shop.create_order({
            "payment_method": "stripe", "set_paid": True, "line_items": [{"product_id": 11, "quantity": 2}],
            "billing": {"country": "DE", "email": "k@example.de", "first_name": "Klaus"}, "shipping": {"country": "DE"},
        })  # fmt: skip
        await drive(s, clock)
        key = f"order:{order.id}"
        approvals = Approvals(s.app[JOURNAL])
        [item] = await approvals.held()
        assert item.key == key and not item.approvable
        with pytest.raises(ApprovalError, match="nothing to book"):
            await approvals.approve(key, "owner")
        with pytest.raises(ApprovalError, match="RATE_ID=CODE"):
            await approvals.replan(key, "owner", ["Germany=OSS-DE"])
        assert "nothing to book yet" in await run_command(s.config, lambda a, _: held(a))
        await approvals.replan(key, "owner", ["DE:19=OSS-DE-19"])
        await drive(s, clock)
        [invoice] = invoices(s, order.id)
        lines = s.dyn.store.where("debtor_invoice_product", "invoice_id", invoice["id"])
        assert {ln["vatcode_name"] for ln in lines} == {"OSS-DE-19"} and invoice["total_amount"] == order.total
        [decision] = await approvals.history(key)
        assert decision.action == "replan" and decision.data["mappings"] == {"by_country_rate:DE:19": "OSS-DE-19"}


async def test_cli_approve_hands_the_decision_to_the_running_agent(strict: tuple[Stack, ManualClock]) -> None:
    """The daemon owns the journal: the command records the decision and re-queues; the daemon books."""
    s, clock = strict
    order_id = await held_order(s, clock)
    key = f"order:{order_id}"
    result = await run_command(s.config, lambda a, running: decide(a, "approve", order_id, "cli-user",
                                                                   daemon_running=running))
    assert result == f"{key}: approve recorded; the running agent acts on it now"
    assert not invoices(s, order_id)[0]["invoice_id_"]  # nothing booked by the command itself
    item = await s.app[JOURNAL].get_work(key)
    assert item is not None and item.state == "pending"
    clock.advance(max(0.0, item.due_at - clock.now()))  # the command's clock is the wall clock
    await drive(s, clock)
    assert invoices(s, order_id)[0]["invoice_id_"]
    [decision] = await Approvals(s.app[JOURNAL]).history(key)
    assert decision.by == "cli-user"
