"""The agent in this process against the two sandboxes in child processes, for ``bench/pipeline.py``.

The sandboxes start through their own CLI (``agent.sandbox.processes``: ``dynaccount-agent sandbox dynaccount``
and ``… woocommerce``), or both in one child; the agent starts here as the demo starts it
(``agent.sandbox.demo.stack_config``, real clock, worker loop, sweep). The agent's Dynaccount client hook is
counted from the agent's start and checked against the sandbox's request log when it has stopped; the hook
attributes calls to work items by the calling task's name, and the worker's runs are timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

from agent.app import SERVICES, Services, create_app, open_woo
from agent.config import Config
from agent.sandbox.demo import CK, CS, stack_config
from agent.sandbox.processes import (
    ChildProcess,
    child_process,
    dynaccount_calls,
    dynaccount_process,
    free_port,
    woocommerce_process,
)
from agent.woo.client import WooClient

# Both sandboxes in one child process (``--sandboxes one``): argv = latency ms, Dynaccount port, shop port, key, secret.
BOTH = """
import asyncio, sys
from agent.sandbox.dynaccount.faults import FaultConfig
from agent.sandbox.dynaccount.server import SandboxConfig, running_sandbox
from agent.sandbox.woo import running_woo_sandbox

async def serve() -> None:
    latency, dyn_port, woo_port, key, secret = sys.argv[1:]
    async with (running_sandbox(SandboxConfig(faults=FaultConfig(latency_ms=int(latency))), port=int(dyn_port)),
                running_woo_sandbox(key, secret, port=int(woo_port), delivery_delay=0.0)):
        await asyncio.Event().wait()

asyncio.run(serve())
"""



@dataclass
@dataclass
class Timing:
    """Where the worker's time went, as the agent sees it: its runs (an item's processing, from claim to
    outcome) and, within them, the time spent in Dynaccount calls (waiting for the call gate included)."""

    runs: int = 0
    busy: float = 0.0  # the runs' wall time, summed
    calls: int = 0  # Dynaccount calls made in runs
    in_calls: float = 0.0

    def line(self, wall: float, slots: int) -> str:
        if not self.runs or not self.calls:
            return "  worker: no runs timed"
        return (f"  worker: {self.runs} runs kept {self.busy / (slots * wall):.2f} of its {slots} slots busy; in a run, "
                f"{self.in_calls / self.calls * 1000:.0f} ms a Dynaccount call (gate wait included), "
                f"{(self.busy - self.in_calls) / self.runs * 1000:.0f} ms outside Dynaccount calls")  # fmt: skip


@dataclass
class Remote:
    """The agent running in this process against the sandboxes in their children. It has what
    ``agent.sandbox.demo``'s ``place_orders`` and ``verify`` read of a demo ``Stack`` (config, shop, refunds and,
    for ``verify`` only, ``dyn.store``: a copy of the Dynaccount sandbox's store read over HTTP)."""

    config: Config
    app: web.Application
    shop: WooClient  # drives the shop like its checkout/admin would
    woo_url: str
    dyn_url: str
    session: aiohttp.ClientSession  # the bench's own calls to the sandboxes' control APIs
    children: dict[str, ChildProcess]
    refunds: dict[int, Decimal] = field(default_factory=dict)
    dyn: SimpleNamespace = field(default_factory=SimpleNamespace)
    life: Counter[str] = field(default_factory=Counter)  # every call the agent's client reported, since it started

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def woo_idle(self) -> None:
        """Every webhook queued by the shop delivered (the sandbox's flush waits for deliveries in flight)."""
        async with self.session.post(f"{self.woo_url}/__sandbox/flush") as resp:
            resp.raise_for_status()

    async def dyn_calls(self) -> Counter[str]:
        return await dynaccount_calls(self.session, self.dyn_url)

    def cpu(self) -> dict[str, float]:
        return {name: child.cpu_seconds() for name, child in self.children.items()}


@contextlib.asynccontextmanager
async def sandboxes(tmp: Path, latency_ms: int, *,
                    one: bool) -> AsyncIterator[tuple[dict[str, ChildProcess], str, str]]:  # fmt: skip
    """The two sandboxes in child processes: one each (``dynaccount-agent sandbox …``) or both in ``one``."""
    if one:
        dyn_url, woo_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
        argv = [sys.executable, "-c", BOTH, str(latency_ms), dyn_url.rpartition(":")[2],
                woo_url.rpartition(":")[2], CK, CS]  # fmt: skip
        async with child_process(argv, [dyn_url, woo_url], [f"{dyn_url}/_sandbox/faults", f"{woo_url}/__sandbox/"],
                                 tmp / "sandboxes.log") as both:  # fmt: skip
            yield {"sandboxes": both}, woo_url, dyn_url
        return
    async with (dynaccount_process(tmp / "dynaccount.log", latency_ms=latency_ms) as dyn,
                woocommerce_process(tmp / "woocommerce.log", CK, CS, delivery_delay=0.0) as woo):  # fmt: skip
        yield {"dynaccount": dyn, "woocommerce": woo}, woo.urls[0], dyn.urls[0]


@contextlib.asynccontextmanager
async def remote_stack(tmp: Path, overrides: dict[str, dict[str, object]], *, latency_ms: int,
                       one_child: bool = False) -> AsyncIterator[Remote]:  # fmt: skip
    """The sandboxes started, then the agent here as the demo starts it (real clock, worker loop, sweep),
    its webhooks registered through the shop's REST API."""
    port = free_port()
    async with sandboxes(tmp, latency_ms, one=one_child) as (children, woo_url, dyn_url), aiohttp.ClientSession() as session:
        config = stack_config(tmp, agent_port=port, woo_url=woo_url, dyn_url=dyn_url, overrides=overrides)
        async with open_woo(config) as shop:
            app = create_app(config)
            stack = Remote(config, app, shop, woo_url, dyn_url, session, children)
            app.on_startup.append(lambda app: _count_life(stack))  # after the services exist, before any call ends
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                await stack.services.sweep.heal_webhooks()
                await stack.woo_idle()  # the creation pings
                yield stack
            finally:
                await runner.cleanup()
            seen = await stack.dyn_calls()  # the agent has stopped: every call it made has ended
            if seen != stack.life:
                raise RuntimeError(f"the Dynaccount sandbox saw {dict(seen - stack.life)} more and "
                                   f"{dict(stack.life - seen)} fewer calls than the agent's client reported")  # fmt: skip


async def _count_life(stack: Remote) -> None:
    """Count every call the client reports from its start: checked against the sandbox's log at the end, so
    that attributing calls to orders by the client's hook misses none."""
    client = stack.services.dyn
    hook = client._on_call

    def observe(method: str, outcome: str, seconds: float) -> None:
        stack.life[method] += 1
        if hook is not None:
            hook(method, outcome, seconds)

    client._on_call = observe


def count_by_item(stack: Remote, timing: Timing) -> dict[str, Counter[str]]:
    """Dynaccount calls by work item: the client tells its per-call hook of every call, in the task that
    made it, and the worker runs each item in a task named ``work <key>`` (calls outside: ``-``)."""
    client = stack.services.dyn
    by_item: dict[str, Counter[str]] = defaultdict(Counter)
    hook = client._on_call  # the daemon's own observers keep being told

    def observe(method: str, outcome: str, seconds: float) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else ""
        by_item[name.removeprefix("work ") if name.startswith("work ") else "-"][method] += 1
        if name.startswith("work "):
            timing.calls, timing.in_calls = timing.calls + 1, timing.in_calls + seconds
        if hook is not None:
            hook(method, outcome, seconds)

    client._on_call = observe
    return by_item


def time_runs(stack: Remote, timing: Timing) -> None:
    """Time each run of the worker (its ``_handle``: process the item, record the outcome)."""
    worker = stack.services.worker
    handle = worker._handle

    async def timed(item: Any) -> None:
        started = time.monotonic()
        try:
            await handle(item)
        finally:
            timing.runs, timing.busy = timing.runs + 1, timing.busy + time.monotonic() - started

    worker._handle = timed  # type: ignore[method-assign]
