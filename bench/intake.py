"""Intake throughput and latency: the durable webhook endpoint vs. a bare aiohttp handler.

Each server runs in its own process; this process is the load generator. For concurrency 1, 16
and 64 it sends signed ``order.updated`` deliveries (distinct bodies, so nothing is deduplicated)
and prints acknowledged deliveries per second, p50/p99 latency, and the ratio real/bare. The goal
(issue 17): at concurrency 64 with synchronous=FULL the durable intake acknowledges at least 0.6 × what
the bare handler does; a ratio under it exits 1.

On this shared 2-core machine (load generator, server and SQLite's thread on two cores) one pair of
runs scatters by ± 0.2, so bare and real are measured ``--rounds`` times, interleaved (the order
alternates), and each level's figure is the round with the median ratio (every round's ratio beside it).
The server process's CPU per delivery (all threads, from /proc) is printed too: it scatters far less
than throughput and says where a ratio comes from.

Two more rows at concurrency 64, for what the goal's small bodies of new orders do not show: a real
WooCommerce ``order.updated`` body (4 kB, ``tests/fixtures/woocommerce-real``) of new orders, and the
same body for orders whose work item is already done, where intake must compute the order's
fingerprint to decide whether the order changed (``agent.journal.deliveries``). Information, not the goal.

    .venv/bin/python bench/intake.py [--requests 3000] [--rounds 5] [--synchronous FULL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.sandbox.ports import free_port  # noqa: E402
from agent.sandbox.processes import cpu_seconds  # noqa: E402
from agent.woo.signature import sign  # noqa: E402

SECRET = "bench-webhook-secret"
GOAL = 0.6  # durable intake ÷ bare handler at concurrency 64, synchronous=FULL


def serve(kind: str, port: int, journal: str, synchronous: str) -> None:
    if kind == "bare":
        async def handler(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/webhooks/woocommerce", handler)
        app.router.add_get("/healthz", lambda r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    else:
        from agent.app import create_app
        from agent.config import parse_config

        app = create_app(parse_config({
            "server": {"port": port}, "journal": {"path": journal, "synchronous": synchronous},
            "woocommerce": {"url": "http://127.0.0.1:9", "consumer_key": "ck", "consumer_secret": "cs",
                            "webhook_secret": SECRET},
            "dynaccount": {"api_id": 1, "api_key": "k", "api_secret": "s", "base_url": "http://127.0.0.1:9"},
        }), background=False)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_up(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


REAL_BODY = ROOT / "tests/fixtures/woocommerce-real/webhooks/00017-order-updated-17.json"


def bodies(kind: str, n: int, offset: int) -> list[bytes]:
    """Distinct ``order.updated`` bodies for order ids offset .. offset + n - 1."""
    if kind == "small":
        return [b'{"id":%d,"status":"processing","total":"428.80"}' % (offset + i) for i in range(n)]
    text = json.loads(REAL_BODY.read_text(encoding="utf-8"))["body"]
    assert text.startswith('{"id":17,')
    rest = text[len('{"id":17,') :]
    return [f'{{"id":{offset + i},{rest}'.encode() for i in range(n)]


async def load(port: int, concurrency: int, payloads: list[bytes]) -> tuple[float, list[float]]:
    url = f"http://127.0.0.1:{port}/webhooks/woocommerce"
    latencies: list[float] = []
    queue = iter(payloads)

    async def worker(session: aiohttp.ClientSession) -> None:
        for body in queue:
            headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
                       "X-WC-Webhook-Signature": sign(body, SECRET)}
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append(time.perf_counter() - t0)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(payloads) / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


async def seed_done(journal: str, ids: range) -> None:
    """Work items for these orders, finished (done) on an earlier version of each order."""
    from agent.journal import Journal

    j = await Journal.open(journal, synchronous="NORMAL")
    try:
        for order_id in ids:
            await j.hint_work(f"order:{order_id}")
        for item in await j.claim_due(len(ids)):
            await j.acted_on(item.key, "an earlier version of the order")
            await j.finish(item, "done")
    finally:
        await j.close()


Result = tuple[float, float, float, float]  # acknowledged/s, p50 ms, p99 ms, server CPU µs per delivery




async def measure(kind: str, requests: int, synchronous: str, levels: tuple[int, ...], body: str,
                  done: bool = False) -> dict[int, Result]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        offsets = [1 + i * 1_000_000 for i in range(len(levels))]  # order ids start at 1
        if done and kind == "real":
            for offset in offsets:
                await seed_done(f"{tmp}/j.sqlite3", range(offset, offset + requests))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                                 "--journal", f"{tmp}/j.sqlite3", "--synchronous", synchronous])
        try:
            await wait_up(port)
            await load(port, 8, bodies(body, 200, 10_000_000))  # warm-up
            results = {}
            for c, offset in zip(levels, offsets, strict=True):
                cpu = cpu_seconds(proc.pid)
                rate, lat = await load(port, c, bodies(body, requests, offset))
                results[c] = (rate, pct(lat, 50), pct(lat, 99), (cpu_seconds(proc.pid) - cpu) / requests * 1e6)
            return results
        finally:
            proc.terminate()
            proc.wait()


async def compare(requests: int, synchronous: str, rounds: int, levels: tuple[int, ...], body: str,
                  done: bool = False) -> dict[int, tuple[Result, Result, float, list[float]]]:
    """Bare and real, ``rounds`` times interleaved; per level the round with the median ratio, and every
    round's ratio."""
    runs: dict[int, list[tuple[Result, Result, float]]] = {c: [] for c in levels}
    for r in range(rounds):
        order = ("bare", "real") if r % 2 == 0 else ("real", "bare")
        got = {kind: await measure(kind, requests, synchronous, levels, body, done) for kind in order}
        for c in levels:
            runs[c].append((got["real"][c], got["bare"][c], got["real"][c][0] / got["bare"][c][0]))
    return {c: (*sorted(rs, key=lambda x: x[2])[len(rs) // 2], [x[2] for x in rs]) for c, rs in runs.items()}


def row(label: str, real: Result, bare: Result, ratio: float, rounds: list[float]) -> str:
    return (f"{label:>28} | {real[0]:8.0f} {real[1]:7.2f} {real[2]:7.2f} {real[3]:6.0f} | {bare[0]:8.0f} {bare[1]:7.2f} "
            f"{bare[2]:7.2f} {bare[3]:6.0f} | {ratio:.2f} ({' '.join(f'{x:.2f}' for x in rounds)})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["real", "bare"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--journal", default="")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.journal, args.synchronous)
        return 0
    goal = asyncio.run(compare(args.requests, args.synchronous, args.rounds, (1, 16, 64), "small"))
    real_new = asyncio.run(compare(args.requests, args.synchronous, args.rounds, (64,), "real"))
    real_done = asyncio.run(compare(args.requests, args.synchronous, args.rounds, (64,), "real", done=True))
    print(f"intake benchmark: {args.requests} deliveries per level, journal synchronous={args.synchronous}, "
          f"median of {args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.2f} "
          "(a shared machine: the ratio is what compares)")
    print(f"{'deliveries (concurrency)':>28} | {'real/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>6} | {'bare/s':>8} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>6} | ratio (each round)")
    for c in (1, 16, 64):
        print(row(f"small, new orders ({c})", *goal[c]))
    print(row("4 kB real, new orders (64)", *real_new[64]))
    print(row("4 kB real, orders done (64)", *real_done[64]))
    ratio = goal[64][2]
    print("CPU µs: the server process's CPU (all threads) per delivery in the round shown")
    verdict = "met" if ratio >= GOAL else "MISSED"
    print(f"concurrency 64: durable intake {ratio:.2f} × the bare handler (goal ≥ {GOAL} with synchronous=FULL"
          f"{'' if args.synchronous == 'FULL' else f'; this run used {args.synchronous}'}): {verdict}")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
