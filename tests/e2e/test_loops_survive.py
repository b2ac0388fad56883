"""Background loops survive one bad iteration (issue 11 item 2): a malformed order record, JSON nested
5,000 deep, a journal error; each records its last error with a time and shows it; SIGTERM exits 0.
The daemon also warns about a world-readable config (item 8) and logs the online check at start (item 9)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.config import load_config
from agent.journal import WorkItem
from agent.outcomes import Outcome
from agent.sandbox.demo import CK, CS, Stack, place_orders
from agent.sandbox.dynaccount.server import SandboxConfig, running_sandbox
from agent.sandbox.ports import free_port
from agent.sandbox.woo import running_woo_sandbox
from agent.woo.client import WooClient
from agent.worker import Worker

from .conftest import drive  # type: ignore[import-not-found]
from .crashkit import AgentProcess, agent_config, toml_dumps, until  # type: ignore[import-not-found]


async def test_a_malformed_order_record_becomes_a_failed_item(stack: tuple[Stack, ManualClock]) -> None:
    s, clock = stack
    broken, fine = await place_orders(s, 2)
    s.woo.state.broken_orders[broken] = {"status": None}  # a plugin drops the field from the REST output
    await s.woo.wait_idle()
    assert await s.services.sweep.run_once() == 2  # both found: the bad record hides nothing
    assert s.services.sweep.reconcile.status.last_error is None
    await drive(s, clock)
    bad = await s.app[JOURNAL].get_work(f"order:{broken}")
    good = await s.app[JOURNAL].get_work(f"order:{fine}")
    assert good is not None and good.state == "done"
    assert bad is not None and bad.state == "failed" and "status" in (bad.error or "") and "Field required" in (bad.error or "")


async def test_json_nested_5000_deep_is_a_recorded_sweep_error_and_the_next_pass_runs(
    stack: tuple[Stack, ManualClock],
) -> None:
    s, clock = stack
    [order_id] = await place_orders(s, 1)
    s.woo.state.broken_orders[order_id] = {"meta_data": "__deep__:5000"}
    await s.woo.wait_idle()
    assert await s.services.sweep.run_once() == 0
    job = s.services.sweep.reconcile.status
    assert job.last_error and "not JSON" in job.last_error and job.last_error_at == clock.now()
    assert s.services.sweep.drafts.status.last_error is None  # the other jobs ran
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{s.agent_url}/api/status") as resp:
            status = await resp.json()
        assert status["sweep"]["jobs"]["reconcile_orders"]["last_error_at"]
        async with session.get(f"{s.agent_url}/") as resp:
            assert "sweep failed: reconcile_orders" in await resp.text()
    del s.woo.state.broken_orders[order_id]
    clock.advance(60)
    assert await s.services.sweep.run_once() == 1
    assert job.last_error is None


async def test_a_journal_error_does_not_end_the_worker_loop(make_stack: Callable[..., Any]) -> None:
    clock, ctx = make_stack(worker={"poll_seconds": 0.01})
    async with ctx as s:
        journal = s.app[JOURNAL]
        done: list[str] = []

        async def process(item: WorkItem) -> Outcome:
            done.append(item.key)
            return Outcome("done")

        worker = Worker(journal, process, s.config.worker, clock)
        real_claim, failures = journal.claim_due, [sqlite3.OperationalError("database is locked")]

        async def claim_due(limit: int, exclude: frozenset[str] = frozenset()) -> list[WorkItem]:
            if failures:
                raise failures.pop()
            return await real_claim(limit, exclude)

        journal.claim_due = claim_due  # type: ignore[method-assign]
        await journal.hint_work("order:1")
        worker.start()
        await until(lambda: worker.last_error_at is not None, timeout=10, what="the recorded loop error")
        assert worker.last_error_at == clock.now()
        worker.wake()
        await until(lambda: done == ["order:1"], timeout=10, what="work after the journal error")
        assert worker.last_error is None  # the next round went well
        await worker.stop()


async def test_sigterm_after_loop_errors_exits_0(tmp_path: Path) -> None:
    async with (
        running_sandbox(SandboxConfig()) as dyn,
        running_woo_sandbox(CK, CS, delivery_delay=0.0) as woo,
        aiohttp.ClientSession() as session,
    ):
        tables = agent_config(tmp_path, port=free_port(), woo_url=woo.base_url, dyn_url=dyn.base_url)
        tables["sweep"]["interval_seconds"] = 0.2
        path = tmp_path / "agent.toml"
        path.write_text(toml_dumps(tables), encoding="utf-8")
        path.chmod(0o644)  # world-readable: `run` warns (item 8)
        agent = AgentProcess(path, load_config(path), tmp_path / "agent.log")
        shop = WooClient(session, base_url=woo.base_url, consumer_key=CK, consumer_secret=CS)
        try:
            await agent.start(session)
            from agent.sandbox.demo_orders import order_payloads

            order = await shop.create_order(next(iter(order_payloads(1, seed=3))))
            woo.state.broken_orders[order.id] = {"meta_data": "__deep__:5000"}
            status: dict[str, Any] = {}

            async def sweep_failed() -> bool:
                status.update(await agent.status(session))
                return bool(status["sweep"]["jobs"]["reconcile_orders"]["last_error"])

            for _ in range(500):
                if await sweep_failed():
                    break
                await asyncio.sleep(0.02)  # the agent's own timer runs the sweep
            assert status["sweep"]["jobs"]["reconcile_orders"]["last_error_at"], agent.log_tail()
            code = await agent.stop()
            assert code == 0, agent.log_tail()
            log = agent.log_path.read_text(encoding="utf-8")
            assert "readable by every user" in log and "chmod 600" in log
            assert "online check: WooCommerce and Dynaccount answer" in log  # the check at start, logged
            assert "Traceback" not in agent.log_path.read_text(encoding="utf-8").split("SIGTERM", 1)[1]
        finally:
            agent.ensure_dead()
