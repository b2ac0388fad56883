"""Exactly once, the journal and intake side (issue 10 items 1, 5, 6, 8) against both sandboxes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.dynaccount.errors import DynaccountError
from agent.journal import WorkItem
from agent.sandbox.demo import Stack, place_orders

from .conftest import drive  # type: ignore[import-not-found]


def _item(key: str, resource_id: str) -> WorkItem:
    return WorkItem(key=key, kind="order", resource_id=resource_id, state="running", generation=1, attempts=0,
                    due_at=0.0, updated_at=0.0, reason=None, error=None)  # fmt: skip


async def _rows(s: Stack, sql: str) -> int:
    return int((await s.app[JOURNAL].db.read(sql))[0][0])


async def test_an_order_named_by_two_keys_is_applied_once(stack: tuple[Stack, ManualClock]) -> None:
    """An alias item (``order:032`` written before keys were canonical) runs beside ``order:32``: the
    order is serialised across the whole process, not per work key, so it books once."""
    s, _ = stack
    s.woo.drop_next(1000)  # only the two items below work on the order
    [order_id] = await place_orders(s, 1)
    s.dyn.faults.config.latency_ms = 20  # both runs are inside Dynaccount calls at once
    outcomes = await asyncio.gather(s.services.orders(_item(f"order:{order_id}", str(order_id))),
                                    s.services.orders(_item(f"order:0{order_id}", f"0{order_id}")))  # fmt: skip
    assert [o.state for o in outcomes] == ["done", "done"], outcomes
    invoices = s.dyn.store.tables["debtor_invoice"]
    assert len(invoices) == 1, invoices
    assert len(s.services.orders._orders) == 0  # the per-order locks do not pile up


async def test_retry_api_requeues_only_existing_canonical_items(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    [order_id] = await place_orders(s, 1)
    await drive(s, clock)
    before = await _rows(s, "SELECT COUNT(*) FROM work_items")
    bad = ["x:1", "..%2Forder:1", "%00:1", "order%00:1", f"order:0{order_id}", f"order:00{order_id}", "order:%C2%B2",
           "order:%D9%A3", "order:" + "9" * 5000, "order:-1", "order:+1", "order:1.0", "order:", ":1", "order:0",
           "order:999999"]  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for key in bad:
            async with http.post(f"{s.agent_url}/api/work/{key}/retry", headers={"Origin": s.agent_url}) as resp:
                assert resp.status == 404, (key[:40], resp.status, await resp.text())
        assert await _rows(s, "SELECT COUNT(*) FROM work_items") == before
        assert await _rows(s, "SELECT COUNT(*) FROM events WHERE message LIKE 'retry requested%'") == 0
        async with http.post(f"{s.agent_url}/api/work/order:{order_id}/retry", headers={"Origin": s.agent_url}) as resp:
            assert resp.status == 200 and (await resp.json())["key"] == f"order:{order_id}"
    item = await s.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None and item.state == "pending"
    assert await _rows(s, "SELECT COUNT(*) FROM work_items") == before


async def test_the_sweep_never_cancels_a_backoff(stack: tuple[Stack, ManualClock]) -> None:
    """Dynaccount down: the order waits out its backoff however often the sweep finds it."""
    s, clock = stack
    s.dyn.faults.force("5xx", times=10_000)
    [order_id] = await place_orders(s, 1)
    await s.woo.wait_idle()
    assert await s.services.worker.run_once() == 1
    key = f"order:{order_id}"
    item = await s.app[JOURNAL].get_work(key)
    assert item is not None and item.state == "pending" and item.attempts == 1 and item.due_at > clock.now()
    for _ in range(5):
        await s.services.sweep.run_once()
        clock.advance(0.01)
        assert await s.services.worker.run_once() == 0  # not due: the hint kept the backoff
    after = await s.app[JOURNAL].get_work(key)
    assert after is not None and (after.state, after.attempts, after.due_at) == ("pending", 1, item.due_at)


async def test_a_change_within_the_same_second_is_found_by_the_sweep(stack: tuple[Stack, ManualClock]) -> None:
    """Seen and changed within one second, the change's delivery dropped: date_modified_gmt is the
    same, what matters is not."""
    s, clock = stack
    second = datetime.now(UTC).replace(microsecond=0)
    s.woo.state.now = lambda: second  # every change lands in the same whole second
    [order_id] = await place_orders(s, 1)
    await drive(s, clock)
    assert await s.services.sweep.run_once() == 0  # seen in this state
    before = s.woo.order_json(order_id)
    s.woo.drop_next(1000)
    await s.shop.update_order(order_id, {"status": "completed"})
    after = s.woo.order_json(order_id)
    assert after["date_modified_gmt"] == before["date_modified_gmt"] and after["status"] != before["status"]
    assert await s.services.sweep.run_once() == 1
    item = await s.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None and item.state == "pending"
    await drive(s, clock)
    assert await s.services.sweep.run_once() == 0  # acted on in its new state: seen again


async def _failed_order(s: Stack) -> tuple[int, str]:
    """One paid order whose run failed for good after it loaded the order (the fingerprint it acted on is
    recorded); returns the order id and its work key."""
    [order_id] = await place_orders(s, 1)
    await s.woo.wait_idle()
    [claimed] = await s.app[JOURNAL].claim_due(1)
    s.dyn.faults.force("5xx", times=10_000)
    with pytest.raises(DynaccountError):
        await s.services.orders(claimed)
    await s.app[JOURNAL].finish(claimed, "failed", error="Dynaccount refused")
    s.dyn.faults.forced.clear()
    return order_id, f"order:{order_id}"


async def test_a_failed_item_is_revived_only_when_the_order_changed(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    order_id, key = await _failed_order(s)
    for _ in range(3):  # the sweep finds the unchanged order again and again: it stays failed
        assert await s.services.sweep.run_once() == 0
    assert (await s.app[JOURNAL].get_work(key)).state == "failed"  # type: ignore[union-attr]
    s.woo.drop_next(1000)
    s.woo.state.now = lambda: datetime(2030, 1, 1, tzinfo=UTC)
    await s.shop.update_order(order_id, {"status": "completed"})
    assert await s.services.sweep.run_once() == 1
    assert (await s.app[JOURNAL].get_work(key)).state == "pending"  # type: ignore[union-attr]
    await drive(s, clock)
    assert len(s.dyn.store.tables["debtor_invoice"]) == 1


async def test_a_webhook_of_the_unchanged_order_leaves_a_failed_item_failed(stack: tuple[Stack, ManualClock]) -> None:
    """Intake computes an order's fingerprint only when the item's state needs it (issue 17): for a
    failed item it must, so an order.updated of the unchanged order (only its modification time moved)
    does not revive it, and a real change does."""
    s, clock = stack
    order_id, key = await _failed_order(s)
    minutes = iter(range(1, 100))
    s.woo.state.now = lambda: datetime(2030, 1, 1, 0, next(minutes), tzinfo=UTC)
    stored = await _rows(s, "SELECT COUNT(*) FROM deliveries WHERE repeats = 0")
    await s.shop.update_order(order_id, {})  # touched: a new body, the same order
    await s.woo.wait_idle()
    assert await _rows(s, "SELECT COUNT(*) FROM deliveries WHERE repeats = 0") == stored + 1
    assert (await s.app[JOURNAL].get_work(key)).state == "failed"  # type: ignore[union-attr]
    await s.shop.update_order(order_id, {"status": "completed"})
    await s.woo.wait_idle()
    assert (await s.app[JOURNAL].get_work(key)).state == "pending"  # type: ignore[union-attr]
    await drive(s, clock)
    assert len(s.dyn.store.tables["debtor_invoice"]) == 1


async def test_drafts_watch_is_quiet_while_no_draft_changed(make_stack: Callable[..., Any]) -> None:
    """10 draft invoices: a sweep pass re-opens nothing, takes no snapshot, writes no event and asks
    Dynaccount only whether each draft was booked (one read per draft)."""
    clock, ctx = make_stack(invoice={"mode": "draft"})
    async with ctx as s:
        await place_orders(s, 10)
        await drive(s, clock)
        assert await _rows(s, "SELECT COUNT(*) FROM links WHERE kind = 'order' AND state = 'draft'") == 10
        await s.services.sweep.run_once()  # the first pass may find what the deliveries already brought
        await drive(s, clock)
        for _ in range(3):
            counts = [await _rows(s, f"SELECT COUNT(*) FROM {t}") for t in ("snapshots", "events")]
            requests = s.dyn.stats["requests"]
            assert await s.services.sweep.run_once() == 0
            assert await s.services.worker.run_once() == 0
            assert [await _rows(s, f"SELECT COUNT(*) FROM {t}") for t in ("snapshots", "events")] == counts
            assert s.dyn.stats["requests"] - requests == 10
            clock.advance(60)
