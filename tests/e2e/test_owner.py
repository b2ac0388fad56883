"""One worker per journal: ``import`` while a real daemon runs hands its work to the daemon.

The daemon listens on ``::`` (all addresses), where the old one-second ``/healthz`` probe could not
reach it: the command then reset the daemon's running items and ran a second worker beside it. Now
the daemon owns ``<journal>.lock`` and a command that cannot take it only hints the journal.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from agent.app import create_app
from agent.config import load_config
from agent.journal.owner import JournalOwned, lock_path, ownership
from agent.sandbox.demo import CK, CS
from agent.sandbox.demo_orders import order_payloads
from agent.sandbox.dynaccount.faults import FaultConfig
from agent.sandbox.dynaccount.server import SandboxConfig, running_sandbox
from agent.sandbox.ports import free_port
from agent.sandbox.woo import running_woo_sandbox
from agent.woo.client import WooClient

from .crashkit import (  # type: ignore[import-not-found]
    ROOT,
    WEBHOOK_PATH,
    AgentProcess,
    agent_config,
    count_documents,
    documents,
    toml_dumps,
    until,
    wait_for,
)

ORDERS = 12
TOPICS = {"order.created", "order.updated", "order.restored", "action.woocommerce_order_refunded"}


class V6Agent(AgentProcess):
    @property
    def url(self) -> str:
        return f"http://[::1]:{self.config.server.port}"  # asyncio binds "::" IPv6 only


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "agent", *args, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return int(proc.returncode or 0), out.decode()


def _work(journal: Path) -> dict[str, int]:
    """Order work by state (the stock room's product checks of its own write echoes are not counted)."""
    with sqlite3.connect(journal, timeout=5) as conn:
        rows = conn.execute("SELECT state, COUNT(*) FROM work_items WHERE kind = 'order' GROUP BY state").fetchall()
    conn.close()
    return {str(s): int(n) for s, n in rows}


async def test_import_while_the_daemon_runs_gives_one_invoice_per_order(tmp_path: Path) -> None:
    # every Dynaccount call takes a while, so the daemon is in the middle of its work when import runs
    async with (
        running_sandbox(SandboxConfig(faults=FaultConfig(latency_ms=60))) as dyn,
        running_woo_sandbox(CK, CS, delivery_delay=0.0) as woo,
        aiohttp.ClientSession() as session,
    ):
        port = free_port()
        raw = agent_config(tmp_path, port=port, woo_url=woo.base_url, dyn_url=dyn.base_url)
        raw["server"]["host"] = "::"  # the probe of http://:::port/healthz never reached it
        hook_url = f"http://[::1]:{port}{WEBHOOK_PATH}"
        raw["woocommerce"]["webhook_url"] = hook_url
        config_path = tmp_path / "agent.toml"
        config_path.write_text(toml_dumps(raw), encoding="utf-8")
        agent = V6Agent(config_path, load_config(config_path), tmp_path / "agent.log")
        try:
            await agent.start(session)
            await until(lambda: {w.topic for w in woo.dispatcher.webhooks.values()
                                 if w.delivery_url == hook_url and not w.pending_delivery} >= TOPICS,
                        timeout=15, what="the agent to register its webhooks")  # fmt: skip
            shop = WooClient(session, base_url=woo.base_url, consumer_key=CK, consumer_secret=CS)
            ids = [(await shop.create_order(p)).id for p in order_payloads(ORDERS, seed=11)]
            await until(lambda: count_documents(dyn.store)[0] >= 1, timeout=30, what="the daemon to start invoicing")
            assert _work(agent.journal_path).get("running", 0) + _work(agent.journal_path).get("pending", 0) > 0

            since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
            code, out = await _cli("import", "--since", since, "--config", str(config_path))
            # orders the daemon already acted on, unchanged since, are left to it (issue 17: no work twice)
            queued, unchanged = re.search(r"(\d+) orders queued", out), re.search(r"\((\d+) unchanged", out)
            assert code == 0 and queued is not None, out
            assert int(queued[1]) + (int(unchanged[1]) if unchanged else 0) == ORDERS, out

            settled = await wait_for(lambda: not {"pending", "running"} & set(_work(agent.journal_path)), timeout=90,
                                     step=0.2)  # fmt: skip
            assert settled, (_work(agent.journal_path), agent.log_tail())
            assert await agent.stop() == 0
        finally:
            agent.ensure_dead()
        invoices = documents(dyn.store, "debtor_invoice", "woo/order-")
        assert {order_id: len(docs) for order_id, docs in invoices.items()} == dict.fromkeys(ids, 1)
        assert _work(agent.journal_path) == {"done": ORDERS}
        log = (tmp_path / "agent.log").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log


def test_ownership_is_one_process_at_a_time_and_released_on_exit(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    with ownership(journal) as first:
        assert first and lock_path(journal) == tmp_path / "j.sqlite3.lock"
        with ownership(journal) as second:
            assert not second  # another open file description: what another process would get
    with ownership(journal) as again:
        assert again


async def test_a_second_daemon_over_an_owned_journal_does_not_start(make_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = make_config()
    with ownership(config.journal.path) as got:
        assert got
        app = create_app(config, autostart=False)
        runner = aiohttp.web.AppRunner(app)
        with pytest.raises(JournalOwned):
            await runner.setup()
        await runner.cleanup()


async def test_the_cli_refuses_a_second_daemon(tmp_path: Path) -> None:
    raw = agent_config(tmp_path, port=free_port(), woo_url="http://127.0.0.1:9", dyn_url="http://127.0.0.1:9")
    config_path = tmp_path / "agent.toml"
    config_path.write_text(toml_dumps(raw), encoding="utf-8")
    with ownership(load_config(config_path).journal.path) as got:
        assert got
        code, out = await _cli("run", "--config", str(config_path))
    assert code == 2 and "another process runs the worker" in out and "Traceback" not in out, out
