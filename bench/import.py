"""Historic import: orders per hour, Dynaccount calls per order, peak RSS, and a second run over the same range.

The bench runs both sandboxes in this process on loopback (the Dynaccount sandbox adds ``--latency-ms`` to
every API call) and the agent as it runs for a shop owner: ``python -m agent import --since … --until …
--config …`` in a child process over a fresh journal, talking real HTTP to both. The shop is seeded with
``--orders`` paid orders of ``--customers`` customers, spread over the past weeks, straight into the
sandbox's store (``ShopState.create_order``: the sandbox's own checkout arithmetic, the same path its
``POST /orders`` takes, without 5,000 HTTP round trips).

Printed: the first run's wall time and orders per hour against the latency floor
``3600 ÷ (calls/order × latency)`` (Dynaccount's calls are serialised, A-14: the shipped ``max_parallel_calls``
is 1, so the import's batches of ``[worker] concurrency`` orders can at best keep that one connection busy),
Dynaccount calls per order by method, WooCommerce calls per order, the import process's
peak RSS (goal ≤ 150 MB), and the second run's wall time, Dynaccount calls (goal: none, so no write) and
WooCommerce list calls (goal: one per page of 100). The books are checked after the first run with
``agent.sandbox.demo.verify`` (one invoice per order, booked, totals to the øre, VAT per code against the
shop's tax lines); a wrong run prints PROBLEMS, no figure, and exits 1, as does a missed goal.

    .venv/bin/python bench/import.py [--orders 5000] [--customers 500] [--latency-ms 50]
    .venv/bin/python bench/import.py --orders 200 --customers 40 --latency-ms 5     # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from agent.app import open_woo  # noqa: E402
from agent.config import Config, parse_config  # noqa: E402
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, Stack, verify  # noqa: E402
from agent.sandbox.demo_orders import SHAPES, order_payloads  # noqa: E402
from agent.sandbox.dynaccount.faults import FaultConfig  # noqa: E402
from agent.sandbox.dynaccount.server import SandboxConfig, SandboxHandle, running_sandbox  # noqa: E402
from agent.sandbox.woo import WooSandbox, running_woo_sandbox  # noqa: E402
from agent.woo.client import PER_PAGE  # noqa: E402

RSS_GOAL_MB = 150.0
WRITES = ("put", "insert", "insert_bulk", "action", "delete", "update")  # Dynaccount verbs that change the books
# The child's own peak RSS: RUSAGE_CHILDREN of a tiny parent that only waits for it.
PEAK = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
        "print(f'peak_rss_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
        "sys.exit(rc)")  # fmt: skip


@dataclass
class Run:
    seconds: float
    summary: str
    peak_mb: float
    dyn: Counter[str]
    woo: dict[str, int]


class ShopClock:
    """The WooCommerce sandbox's clock: historic while the shop is seeded, the real time afterwards."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed or datetime.now(UTC)


def payloads(orders: int, customers: int, seed: int) -> Iterator[dict[str, Any]]:
    """Paid orders of the demo's shapes; customer ``c`` always buys as one shape (one country, one
    company), with an e-mail, VAT number and EAN of its own, so there are ``customers`` debtors."""
    shapes = [SHAPES[(n % customers) % len(SHAPES)] for n in range(orders)]
    for n, payload in enumerate(order_payloads(orders, seed=seed, shapes=shapes)):
        c, country = n % customers, payload["billing"]["country"]
        payload["billing"]["email"] = f"kunde{c}@example.{country.lower()}"
        for meta in payload["meta_data"]:
            if meta["key"] == "_billing_vat_number":
                meta["value"] = f"{country}{10_000_000 + c}"
            elif meta["key"] == "_billing_ean":
                meta["value"] = f"579800{c:07d}"
        yield payload


def seed_shop(woo: WooSandbox, clock: ShopClock, args: argparse.Namespace) -> tuple[datetime, datetime]:
    """Place the orders straight into the sandbox's store, ten minutes apart, ending a day ago."""
    step = timedelta(minutes=10)
    first = (datetime.now(UTC) - timedelta(days=1) - step * args.orders).replace(microsecond=0)
    for n, payload in enumerate(payloads(args.orders, args.customers, args.seed)):
        clock.fixed = first + step * n
        woo.state.create_order(payload)
    clock.fixed = None
    return first, first + step * args.orders


def settings(tmp: Path, woo: WooSandbox, dyn: SandboxHandle, args: argparse.Namespace) -> dict[str, Any]:
    sandbox = dyn.config
    return {
        "server": {"host": "127.0.0.1", "port": 9},  # the import serves nothing
        "journal": {"path": str(tmp / "agent.sqlite3"), "synchronous": args.synchronous},
        "woocommerce": {"url": woo.base_url.rstrip("/"), "consumer_key": CK, "consumer_secret": CS,
                        "webhook_secret": WEBHOOK_SECRET},
        "dynaccount": {"api_id": int(sandbox.api_id), "api_key": sandbox.api_key, "api_secret": sandbox.api_secret,
                       "base_url": dyn.base_url.rstrip("/")},
    }  # fmt: skip


def toml(raw: dict[str, dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, int | float) else f'"{v}"'

    return "\n".join(f"[{table}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in values.items())
                     for table, values in raw.items())  # fmt: skip


def count_dyn_calls(dyn: SandboxHandle) -> Counter[str]:
    """Dynaccount API calls by ``method/name``: the sandbox asks its fault injector for the delay of
    every API call (and of nothing else), so count there (as bench/pipeline.py does)."""
    counted: Counter[str] = Counter()
    delay = dyn.faults.delay

    def counting(method: str, name: str) -> float:
        counted[f"{method}/{name}"] += 1
        return delay(method, name)

    dyn.faults.delay = counting  # type: ignore[method-assign]
    return counted


async def run_import(config: Path, since: datetime, until: datetime, dyn: Counter[str], woo: WooSandbox,
                     log: Path) -> Run:  # fmt: skip
    dyn.clear()
    woo.state.calls.clear()
    argv = [sys.executable, "-c", PEAK, sys.executable, "-m", "agent", "import", "--since", f"{since:%Y-%m-%d}",
            "--until", f"{until:%Y-%m-%d}", "--config", str(config)]  # fmt: skip
    start = time.monotonic()
    with log.open("ab") as err:
        child = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=err)
        out, _ = await child.communicate()
    seconds = time.monotonic() - start
    text = log.read_text(encoding="utf-8")  # noqa: ASYNC240 (the child has exited: nothing else runs)
    peak = [line for line in text.splitlines() if line.startswith("peak_rss_kb=")]
    if child.returncode != 0 or not peak:
        raise SystemExit(f"PROBLEMS: the import exited {child.returncode}; its log: {log}\n{text[-2000:]}")
    return Run(seconds, out.decode().strip(), int(peak[-1].partition("=")[2]) / 1024, Counter(dyn), dict(woo.state.calls))


async def check_books(config: Config, woo: WooSandbox, dyn: SandboxHandle, run: Run, orders: int) -> list[str]:
    """One booked invoice per order, totals to the øre and VAT per code against WooCommerce's tax lines."""
    async with open_woo(config) as shop:
        ids = sorted(woo.state.orders)
        verdict = await verify(Stack(config, web.Application(), woo, dyn, shop, ""), ids)
    problems = [f"MISSING invoice for order {n}" for n in verdict.missing]
    problems += verdict.mismatched + verdict.vat_mismatched + [f"{verdict.duplicates} duplicate documents"] * bool(
        verdict.duplicates)
    if not (verdict.invoiced == verdict.booked == verdict.matched == orders):
        problems.append(f"{orders} orders, {verdict.invoiced} invoices, {verdict.booked} booked, "
                        f"{verdict.matched} totals matched")  # fmt: skip
    if f"{orders} orders imported: {orders} done" not in run.summary:
        problems.append(f"the import said: {run.summary}")
    return problems


def report(first: Run, second: Run, args: argparse.Namespace) -> list[str]:
    missed = []
    calls = sum(first.dyn.values())
    per_order = calls / args.orders
    rate = args.orders / first.seconds * 3600
    floor = 3600 / (per_order * args.latency_ms / 1000) if calls and args.latency_ms else math.inf
    print(f"orders {args.orders} of {args.customers} customers, injected latency {args.latency_ms} ms per Dynaccount "
          f"call, journal synchronous={args.synchronous}")  # fmt: skip
    print(f"first run:  {first.seconds:.1f} s wall, {rate:.0f} orders/hour; latency floor {floor:.0f} orders/hour "
          f"(3600 / (calls/order × latency)); ratio {rate / floor:.2f}")  # fmt: skip
    print(f"            Dynaccount calls/order {per_order:.2f}: "
          + ", ".join(f"{k} {v / args.orders:.2f}" for k, v in first.dyn.most_common()))
    print("            WooCommerce calls/order: "
          + ", ".join(f"{k} {v / args.orders:.2f}" for k, v in sorted(first.woo.items())))
    print(f"            peak RSS of the import process {first.peak_mb:.1f} MB (goal ≤ {RSS_GOAL_MB:.0f} MB)")
    if first.peak_mb > RSS_GOAL_MB:
        missed.append(f"peak RSS {first.peak_mb:.1f} MB > {RSS_GOAL_MB:.0f} MB")
    pages = max(1, -(-args.orders // PER_PAGE))
    writes = sum(n for k, n in second.dyn.items() if k.partition("/")[0] in WRITES)
    lists, others = second.woo.get("GET orders", 0), {k: v for k, v in second.woo.items() if k != "GET orders"}
    print(f"second run: {second.seconds:.1f} s wall ({second.seconds / first.seconds:.3f} of the first), "
          f"{sum(second.dyn.values())} Dynaccount calls ({writes} writes; goal 0), WooCommerce list calls {lists} "
          f"for {pages} pages (goal 1 per page), other WooCommerce calls {sum(others.values())}; "
          f"peak RSS {second.peak_mb:.1f} MB")  # fmt: skip
    print(f"            {second.summary}")
    if second.dyn or lists != pages or others:
        missed.append(f"second run: Dynaccount {dict(second.dyn)}, WooCommerce {second.woo} (goal: list pages only)")
    return missed


async def bench(args: argparse.Namespace) -> int:
    clock = ShopClock()
    faults = FaultConfig(latency_ms=args.latency_ms)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as name:
        tmp = Path(name)
        async with (running_sandbox(SandboxConfig(faults=faults)) as dyn,
                    running_woo_sandbox(CK, CS, now=clock) as woo):  # fmt: skip
            t0 = time.monotonic()
            since, last = seed_shop(woo, clock, args)
            print(f"seeded {args.orders} orders into the WooCommerce sandbox in {time.monotonic() - t0:.1f} s "
                  f"(created {since:%Y-%m-%d %H:%M} … {last:%Y-%m-%d %H:%M} UTC)", flush=True)  # fmt: skip
            raw = settings(tmp, woo, dyn, args)
            path = tmp / "agent.toml"
            path.write_text(toml(raw), encoding="utf-8")
            config = parse_config(raw, source="bench")
            counted = count_dyn_calls(dyn)
            until = last + timedelta(days=1)
            first = await run_import(path, since, until, counted, woo, tmp / "first.log")
            print(f"first run done in {first.seconds:.1f} s; checking the books …", flush=True)
            problems = await check_books(config, woo, dyn, first, args.orders)
            if problems:
                print("PROBLEMS (no figures):\n  " + "\n  ".join(problems[:20]))
                return 1
            second = await run_import(path, since, until, counted, woo, tmp / "second.log")
            missed = report(first, second, args)
    for line in missed:
        print(f"GOAL MISSED: {line}")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), default="NORMAL")
    parser.add_argument("--seed", type=int, default=7)
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
