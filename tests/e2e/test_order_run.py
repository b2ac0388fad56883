"""The order run in two phases: one journal read of the order's state, then plan, then the applier."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pytest

from agent.app import JOURNAL
from agent.sandbox.demo import place_orders

from .conftest import drive  # type: ignore[import-not-found]

ORDER_KINDS = {"order", "payment", "refund", "payout"}


def _record(journal: Any, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    for name in ("order_facts", "get_link", "draft_invoices", "get_intent", "put_link", "start_intent"):
        method = getattr(journal, name)

        def wrap(method: Any = method, name: str = name) -> Any:
            async def counted(*args: Any, **kwargs: Any) -> Any:
                kind = args[0] if name in ("get_link", "put_link") else ""
                calls[f"{name}({kind})" if kind else name] += 1
                return await method(*args, **kwargs)

            return counted

        monkeypatch.setattr(journal, name, wrap())
    return calls


async def test_an_order_reads_its_state_once_and_only_the_applier_writes_it(
    make_stack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, ctx = make_stack()
    async with ctx as s:
        calls = _record(s.app[JOURNAL], monkeypatch)
        [order_id] = await place_orders(s, 1)
        await drive(s, clock)
        item = await s.app[JOURNAL].get_work(f"order:{order_id}")
        assert item is not None and item.state == "done" and "booked" in (item.reason or "")
        runs = [e for e in await s.app[JOURNAL].list_events(f"order:{order_id}") if e.message.startswith("done")]
        assert calls["order_facts"] == len(runs) >= 1
        # no order-scoped link or intent is looked up one by one, and nothing scans a kind for the order
        assert not [c for c in calls if c.startswith("get_link(") and c[9:-1] in ORDER_KINDS], calls
        assert calls["get_intent"] == 0 and calls["draft_invoices"] == 0
        assert calls["put_link(order)"] == 2 and calls["put_link(payment)"] == 1  # draft, booked; the payment
