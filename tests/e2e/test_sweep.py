"""The sweep: orders whose webhook never came are found; webhooks are healed once, not twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from agent.app import JOURNAL, webhook_topics
from agent.clock import ManualClock
from agent.sandbox.demo import Stack, place_orders, verify

from .conftest import drive  # type: ignore[import-not-found]


async def test_lost_deliveries_are_found_by_polling(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    s.woo.drop_next(1000)  # every delivery is lost (disabled webhook, network, …)
    ids = await place_orders(s, 5)
    await drive(s, clock)
    assert not s.dyn.store.tables["debtor_invoice"]
    assert await s.services.sweep.run_once() == 5
    await drive(s, clock)
    verdict = await verify(s, ids)
    assert verdict.ok and verdict.invoiced == 5, verdict
    # a second pass over the same window re-opens nothing: those orders were handled in this state
    assert await s.services.sweep.run_once() == 0
    # a change to one of them is picked up again (a second later: WooCommerce dates have second resolution)
    later = datetime.now(UTC) + timedelta(seconds=5)
    s.woo.state.now = lambda: later
    await s.shop.update_order(ids[0], {"status": "completed"})
    assert await s.services.sweep.run_once() == 1
    item = await s.app[JOURNAL].get_work(f"order:{ids[0]}")
    assert item is not None and item.state == "pending"


async def test_concurrent_heals_create_each_webhook_once(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    for hook in await s.shop.list_webhooks():
        await s.shop.delete_webhook(hook.id)
    await asyncio.gather(*(s.services.sweep.heal_webhooks() for _ in range(3)))
    topics = sorted(h.topic for h in await s.shop.list_webhooks())
    assert topics == sorted(webhook_topics(s.config))  # orders, and product.updated for stock


async def test_disabled_webhook_is_reactivated(stack: tuple[Stack, ManualClock]) -> None:
    s, _ = stack
    hook = (await s.shop.list_webhooks())[0]
    await s.shop.update_webhook(hook.id, status="disabled")
    report = await s.services.sweep.heal_webhooks()
    assert report.reactivated == [hook.topic]
    assert {h.status for h in await s.shop.list_webhooks()} == {"active"}
    events = await s.app[JOURNAL].list_events()
    assert any("re-activated" in e.message for e in events)


async def test_each_sweep_job_reports_its_own_run_and_error(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(invoice={"mode": "draft"})
    async with ctx as s:
        await place_orders(s, 1)
        await drive(s, clock)
        s.dyn.faults.force("5xx", times=1000)  # Dynaccount is down: only the drafts watch talks to it
        await s.services.sweep.run_once()
        jobs = s.services.sweep.status()["jobs"]
        assert set(jobs) == {"reconcile_orders", "webhook_health", "drafts_watch", "prune_journal"}
        assert jobs["reconcile_orders"]["last_run"] and jobs["reconcile_orders"]["last_error"] is None
        assert jobs["webhook_health"]["last_run"] and jobs["webhook_health"]["last_error"] is None
        assert jobs["drafts_watch"]["last_run"] is None and jobs["drafts_watch"]["last_error"]
        async with aiohttp.ClientSession() as http, http.get(f"{s.agent_url}/api/status") as r:
            payload = await r.json()
        assert payload["sweep"]["jobs"] == jobs
        assert "drafts_watch" in payload["sweep"]["last_error"]
        s.dyn.faults.forced.clear()
        await s.services.sweep.run_once()
        assert s.services.sweep.status()["jobs"]["drafts_watch"]["last_error"] is None
