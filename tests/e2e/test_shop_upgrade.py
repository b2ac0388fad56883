"""Upgrade (issue 19): books and a journal written with the references of before ``[shop]``
(``woo-order-17``, ``woo-refund-5``, ``woo-order-17-payment``), then the new version on them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.plan import references
from agent.sandbox.demo import place_orders, refund_some, verify

from .conftest import drive  # type: ignore[import-not-found]


def _refs(stack: Any, table: str, column: str = "requisition") -> Counter[str]:
    return Counter(str(r.get(column)) for r in stack.dyn.store.tables[table].values())


async def test_upgrade_from_references_without_shop_books_nothing_twice(
    make_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, ctx = make_stack()
    async with ctx as stack:
        # -- the old version: "<shop>-" with shop "woo" is exactly today's "woo-order-17" --------------
        monkeypatch.setattr(references, "SEPARATOR", "-")
        ids = await place_orders(stack, 12)
        await drive(stack, clock)
        await refund_some(stack, ids, {2: "line"})
        await drive(stack, clock)
        # one more order whose invoice was created but whose answer was lost, and the agent stopped:
        # Dynaccount has it, the journal has only the intent
        stack.dyn.faults.force("commit_then_fail", times=1, method="put", name="debtor_invoice")
        [late] = await place_orders(stack, 1, seed=99)
        await stack.woo.wait_idle()
        await stack.services.worker.run_once()
        journal = stack.app[JOURNAL]
        assert f"create-invoice:woo-order-{late}" in (await journal.order_facts(late)).intents
        old = _refs(stack, "debtor_invoice")
        assert set(old) == {f"woo-order-{i}" for i in [*ids, late]} and set(old.values()) == {1}, old
        assert f"woo-order-{ids[0]}-payment" in _refs(stack, "enclosure", "txt")
        # -- the new version on the same journal and books ------------------------------------------
        monkeypatch.undo()
        for order_id in [*ids, late]:
            await journal.requeue(f"order:{order_id}", create=True)
        await refund_some(stack, ids, {2: "amount", 5: "line"})  # new refunds of old invoices
        await drive(stack, clock)
        invoices = _refs(stack, "debtor_invoice")
        assert invoices == old  # nothing invoiced again, the interrupted one finished under its old reference
        assert all(r["is_booked"] for r in stack.dyn.store.tables["debtor_invoice"].values())
        vouchers = _refs(stack, "enclosure", "txt")
        assert set(vouchers.values()) == {1}
        for order_id in [*ids, late]:  # one payment per order, whichever format it was made with
            assert sum(vouchers[f"{p}order-{order_id}-payment"] for p in ("woo-", "woo/")) == 1, order_id
        assert f"woo/order-{late}-payment" in vouchers  # registered by the new version: carries the shop
        notes = _refs(stack, "debtor_creditnote")
        assert set(notes.values()) == {1} and len(notes) == 3
        assert sum(r.startswith("woo/refund-") for r in notes) == 2  # the new refunds carry the shop
        verdict = await verify(stack, [*ids, late])
        assert not (verdict.mismatched or verdict.duplicates or verdict.overcredited), verdict
