"""The daemon's memory and start: RSS idle, RSS with 10,000 pending work items, start to ready.

Each case starts the real daemon (``python -m agent run --config …``) in a child process with
``NOTIFY_SOCKET`` pointing at a datagram socket of this process, as systemd would, against both sandboxes
(run here, on loopback, the Dynaccount one with ``--latency-ms`` per call):

- **start to ready**: from spawning the process to its ``READY=1`` (and, beside it, to ``/healthz``'s first 200),
  and the CPU seconds the process had used by then (what the machine's load does not change);
- **idle**: a fresh journal, nothing to do, nobody looking; RSS ``--settle`` seconds after ready;
- **pending**: a journal holding ``--pending`` pending order work items, due now, for orders the shop has (seeded
  straight into the sandbox's store, weeks old), so the worker is busy with them at Dynaccount's latency while
  the status page, ``/api/status``, ``/api/work`` and ``/metrics`` are each asked once; RSS after ``--settle`` s.

The baseline, measured in the same run the same way, is a bare python + aiohttp process that binds a
port, answers ``/healthz`` and sends ``READY=1``: the floor any aiohttp daemon on this interpreter starts from.
Children run with a bytecode cache (as an installed system has; this machine's shells set
PYTHONDONTWRITEBYTECODE) after one discarded warm-up start. Each case starts ``--repeat`` times, the cases interleaved: the median
start time and the largest RSS are shown. Goals (issue 17): idle ≤ 60 MB, pending ≤ 150 MB, start to
ready ≤ 1 s; a missed goal exits 1.

    .venv/bin/python bench/memory.py [--pending 10000] [--settle 3] [--latency-ms 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from agent.clock import SystemClock  # noqa: E402
from agent.journal import Journal  # noqa: E402
from agent.journal.work import reopen  # noqa: E402
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, free_port  # noqa: E402
from agent.sandbox.demo_orders import order_payloads  # noqa: E402
from agent.sandbox.dynaccount.faults import FaultConfig  # noqa: E402
from agent.sandbox.dynaccount.server import SandboxConfig, SandboxHandle, running_sandbox  # noqa: E402
from agent.sandbox.processes import cpu_seconds  # noqa: E402
from agent.sandbox.woo import WooSandbox, running_woo_sandbox  # noqa: E402

GOALS = {"idle": 60.0, "pending": 150.0}  # MB
READY_GOAL = 1.0  # seconds
CACHE = Path(tempfile.gettempdir()) / "dynaccount-agent-bench-pycache"
BARE = """
import asyncio, os, socket, sys
from aiohttp import web

async def serve() -> None:
    app = web.Application()
    app.router.add_get("/healthz", lambda request: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[1])).start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
    await asyncio.Event().wait()

asyncio.run(serve())
"""


@dataclass
class Case:
    name: str
    ready_s: float
    healthz_s: float
    rss_mb: float
    peak_mb: float
    cpu_s: float  # CPU seconds the process had used when READY=1 arrived: what load on the machine does not change
    pending: int | None = None  # pending items when RSS was read


def status_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) of a live process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024




def config_text(tmp: Path, port: int, woo: WooSandbox, dyn: SandboxHandle) -> str:
    sandbox = dyn.config
    return f"""[server]
host = "127.0.0.1"
port = {port}
[journal]
path = "{tmp / 'agent.sqlite3'}"
[woocommerce]
url = "{woo.base_url.rstrip('/')}"
consumer_key = "{CK}"
consumer_secret = "{CS}"
webhook_secret = "{WEBHOOK_SECRET}"
[dynaccount]
api_id = {int(sandbox.api_id)}
api_key = "{sandbox.api_key}"
api_secret = "{sandbox.api_secret}"
base_url = "{dyn.base_url.rstrip('/')}"
"""


def child_env() -> dict[str, str]:
    """As on an installed system, where bytecode is cached: this machine's shells set
    PYTHONDONTWRITEBYTECODE, so each start would compile every module again (about 0.5 s more)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(CACHE)}


async def prefill(path: Path, order_ids: list[int]) -> None:
    """The journal as a daemon left it with a backlog: one pending order item per id, due now."""
    journal = await Journal.open(path, clock=SystemClock())
    try:
        now = time.time()
        for start in range(0, len(order_ids), 500):
            async with journal.db.transaction() as conn:
                await reopen(conn, [(f"order:{i}", now, now, None, None) for i in order_ids[start:start + 500]])
    finally:
        await journal.close()


def ready_at(sock: socket.socket, pid: int, limit: float) -> tuple[float, float]:
    """When ``READY=1`` arrived and the CPU the process had used by then, read in a thread of its own: this
    process's loop also serves the sandboxes, and a busy loop must not make the daemon look late."""
    sock.settimeout(limit)
    while b"READY=1" not in sock.recv(4096):
        pass
    return time.monotonic(), cpu_seconds(pid)


async def wait_healthz(port: int, limit: float) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(limit):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.005)  # polling a port that is not bound yet: the bench's own pace


async def visit(port: int) -> None:
    """Ask what a person and a scraper ask: the status page, its JSON, the work list and the metrics."""
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/api/status", "/api/work", "/metrics"):
            async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"PROBLEMS: GET {path} answered {resp.status}")


def pending_items(journal: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM work_items WHERE state = 'pending'").fetchone()[0])


async def measure(name: str, argv: list[str], port: int, tmp: Path, settle: float, agent: bool,
                  visits: bool) -> Case:  # fmt: skip
    path = str(tmp / f"notify-{name}.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, (tmp / f"{name}.log").open("wb") as log:
        sock.bind(path)
        start = time.monotonic()
        child = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env={**child_env(), "NOTIFY_SOCKET": path},
                                                     stdout=asyncio.subprocess.DEVNULL, stderr=log)  # fmt: skip
        try:
            healthz = asyncio.create_task(wait_healthz(port, 60))
            at, cpu = await asyncio.to_thread(ready_at, sock, child.pid, 60)
            ready = at - start
            await healthz
            healthz_s = time.monotonic() - start
            await asyncio.sleep(settle)  # the daemon's own first seconds: it runs by itself meanwhile
            if visits:
                await visit(port)
            rss, peak = status_mb(child.pid)
            pending = pending_items(tmp / "agent.sqlite3") if agent else None
            return Case(name, ready, healthz_s, rss, peak, cpu, pending)
        finally:
            child.send_signal(signal.SIGTERM)
            await child.wait()


def seed(woo: WooSandbox, count: int) -> list[int]:
    """Paid orders weeks old (outside the sweep's first look-back), straight into the sandbox's store."""
    first = datetime.now(UTC) - timedelta(days=60)
    state, ids = woo.state, []
    for n, payload in enumerate(order_payloads(count)):
        state.now = lambda n=n: first + timedelta(minutes=n)  # type: ignore[misc]
        ids.append(state.create_order(payload).id)
    state.now = lambda: datetime.now(UTC)
    return ids


async def one(case: str, backlog: list[int], woo: WooSandbox, dyn: SandboxHandle, settle: float) -> Case:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        tmp, port = Path(name), free_port()
        if case == "bare":
            return await measure(case, [sys.executable, "-c", BARE, str(port)], port, tmp, settle, False, False)
        (tmp / "agent.toml").write_text(config_text(tmp, port, woo, dyn), encoding="utf-8")
        (tmp / "agent.toml").chmod(0o600)
        await prefill(tmp / "agent.sqlite3", backlog)
        argv = [sys.executable, "-m", "agent", "run", "--config", str(tmp / "agent.toml")]
        return await measure(case, argv, port, tmp, settle, True, visits=bool(backlog))


def median_case(runs: list[Case]) -> Case:
    """Start times are the median of the runs; RSS the largest seen (the goal is a ceiling)."""
    worst = max(runs, key=lambda r: r.rss_mb)
    return Case(worst.name, statistics.median(r.ready_s for r in runs), statistics.median(r.healthz_s for r in runs),
                worst.rss_mb, max(r.peak_mb for r in runs), statistics.median(r.cpu_s for r in runs),
                worst.pending)  # fmt: skip


def report(cases: list[Case], args: argparse.Namespace) -> list[str]:
    base = cases[0]
    print(f"daemon memory and start ({args.pending} pending items, settle {args.settle} s, Dynaccount latency "
          f"{args.latency_ms} ms, {args.repeat} starts per case, load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"{'case':<8} {'ready s':>7} {'CPU s':>6} {'healthz s':>9} {'RSS MB':>7} {'peak MB':>7} {'vs bare':>8} "
          f"{'goal MB':>7}")  # fmt: skip
    missed = []
    for c in cases:
        goal = GOALS.get(c.name)
        extra = f"  ({c.pending} still pending)" if c.pending is not None else ""
        print(f"{c.name:<8} {c.ready_s:7.3f} {c.cpu_s:6.2f} {c.healthz_s:9.3f} {c.rss_mb:7.1f} {c.peak_mb:7.1f} "
              f"{c.rss_mb - base.rss_mb:+7.1f}M {goal or '':>7}{extra}")  # fmt: skip
        if goal is not None and c.rss_mb > goal:
            missed.append(f"{c.name}: RSS {c.rss_mb:.1f} MB > {goal:.0f} MB")
    idle = next(c for c in cases if c.name == "idle")
    print(f"start to ready: {idle.ready_s:.3f} s (goal ≤ {READY_GOAL} s); bare aiohttp {base.ready_s:.3f} s, "
          f"ratio {idle.ready_s / base.ready_s:.2f}; CPU to ready {idle.cpu_s:.2f} s vs bare {base.cpu_s:.2f} s "
          f"(ratio {idle.cpu_s / max(base.cpu_s, 0.01):.2f})")  # fmt: skip
    if idle.ready_s > READY_GOAL:
        missed.append(f"start to ready {idle.ready_s:.3f} s > {READY_GOAL} s")
    return missed


async def bench(args: argparse.Namespace) -> int:
    faults = FaultConfig(latency_ms=args.latency_ms)
    async with running_sandbox(SandboxConfig(faults=faults)) as dyn, running_woo_sandbox(CK, CS) as woo:
        ids = seed(woo, args.pending)
        await one("warm-up", [], woo, dyn, 0.0)  # fills the bytecode cache, as the first start after an install
        runs: dict[str, list[Case]] = {"bare": [], "idle": [], "pending": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment of this shared machine hits every case alike
            for case, backlog in (("bare", []), ("idle", []), ("pending", ids)):
                runs[case].append(await one(case, backlog, woo, dyn, args.settle))
        cases = [median_case(found) for found in runs.values()]
    missed = report(cases, args)
    for line in missed:
        print(f"GOAL MISSED: {line}")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after ready before RSS is read")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="starts per case (median start time, largest RSS)")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
