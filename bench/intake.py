"""Intake throughput and latency: the durable webhook endpoint vs. a bare aiohttp handler.

Each server runs in its own process; this process is the load generator. For concurrency 1, 16
and 64 it sends signed ``order.updated`` deliveries (distinct bodies, so nothing is deduplicated)
and prints acknowledged deliveries per second, p50/p99 latency, and the ratio real/bare. The goal
(issue 17): at concurrency 64 with synchronous=FULL the durable intake acknowledges at least 0.6 × what
the bare handler does; a ratio under it exits 1.

    .venv/bin/python bench/intake.py [--requests 3000] [--synchronous FULL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
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

from agent.woo.signature import sign  # noqa: E402

SECRET = "bench-webhook-secret"
GOAL = 0.6  # durable intake ÷ bare handler at concurrency 64, synchronous=FULL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def load(port: int, concurrency: int, n: int, offset: int) -> tuple[float, list[float]]:
    url = f"http://127.0.0.1:{port}/webhooks/woocommerce"
    bodies = [b'{"id":%d,"status":"processing","total":"428.80"}' % (offset + i) for i in range(n)]
    latencies: list[float] = []
    queue = iter(bodies)

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
    return n / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


async def measure(kind: str, requests: int, synchronous: str) -> dict[int, tuple[float, float, float]]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                                 "--journal", f"{tmp}/j.sqlite3", "--synchronous", synchronous])
        try:
            await wait_up(port)
            await load(port, 8, 200, 10_000_000)  # warm-up
            results = {}
            for i, c in enumerate((1, 16, 64)):
                rate, lat = await load(port, c, requests, i * 1_000_000)
                results[c] = (rate, pct(lat, 50), pct(lat, 99))
            return results
        finally:
            proc.terminate()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["real", "bare"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--journal", default="")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.journal, args.synchronous)
        return 0
    bare = asyncio.run(measure("bare", args.requests, args.synchronous))
    real = asyncio.run(measure("real", args.requests, args.synchronous))
    print(f"intake benchmark: {args.requests} deliveries per level, journal synchronous={args.synchronous}, "
          f"load average {os.getloadavg()[0]:.2f} (a shared machine: the ratio is what compares)")
    print(f"{'conc':>4} | {'real/s':>8} {'p50 ms':>7} {'p99 ms':>7} | {'bare/s':>8} {'p50 ms':>7} {'p99 ms':>7} | ratio")
    for c in (1, 16, 64):
        r, b = real[c], bare[c]
        print(f"{c:>4} | {r[0]:8.0f} {r[1]:7.2f} {r[2]:7.2f} | {b[0]:8.0f} {b[1]:7.2f} {b[2]:7.2f} | {r[0] / b[0]:.2f}")
    ratio = real[64][0] / bare[64][0]
    verdict = "met" if ratio >= GOAL else "MISSED"
    print(f"concurrency 64: durable intake {ratio:.2f} × the bare handler (goal ≥ {GOAL} with synchronous=FULL"
          f"{'' if args.synchronous == 'FULL' else f'; this run used {args.synchronous}'}): {verdict}")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
