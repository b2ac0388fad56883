"""Exactly once under faults: Dynaccount failing, dropping connections and losing responses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from agent.app import JOURNAL
from agent.demo import place_orders, refund_some, verify
from agent.dynaccount.sandbox_faults import FaultConfig

from .conftest import drive  # type: ignore[import-not-found]


async def test_300_orders_under_faults_end_with_exactly_one_invoice_each(make_stack: Callable[..., Any]) -> None:
    faults = FaultConfig(error_5xx=0.20, commit_then_fail=0.05, drop=0.03, seed=20261124)
    clock, ctx = make_stack(faults)
    async with ctx as stack:
        ids = await place_orders(stack, 300)
        await drive(stack, clock, rounds=2000)
        injected = Counter(stack.dyn.faults.injected)
        # the faults really happened, many times each
        assert injected["5xx"] > 100 and injected["commit_then_fail"] > 20 and injected["drop"] > 10, injected
        stack.dyn.faults.clear()  # verify() reads the books; the agent is done
        verdict = await verify(stack, ids)
        assert verdict.missing == [] and verdict.duplicates == 0 and verdict.mismatched == [], verdict
        assert verdict.invoiced == verdict.booked == verdict.matched == 300
        counts = await stack.app[JOURNAL].counts()
        assert counts.work["failed"] == 0 and counts.work["done"] == 300
        # one payment registration per paid order, never two
        payments = Counter(str(e.get("txt")) for e in stack.dyn.store.tables["enclosure"].values())
        assert max(payments.values()) == 1
        assert len(payments) == sum(1 for _ in ids)


async def test_refunds_under_faults_give_exactly_one_credit_note_each(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack()
    async with ctx as stack:
        ids = await place_orders(stack, 40)
        await drive(stack, clock)
        stack.dyn.faults.config.update({"error_5xx": 0.2, "commit_then_fail": 0.1, "drop": 0.03})
        specs = {i: kind for i, kind in enumerate(["line", "amount", "shipping", "partial_qty", "full"] * 8)}
        await refund_some(stack, ids, specs)
        await refund_some(stack, ids, {3: "amount", 13: "amount", 21: "shipping"})  # second refunds
        await drive(stack, clock, rounds=2000)
        assert stack.dyn.faults.injected["commit_then_fail"] > 3
        stack.dyn.faults.clear()
        verdict = await verify(stack, ids)
        assert verdict.ok, verdict
        assert verdict.creditnotes == len(stack.refunds) >= 40
