"""Dynaccount client throughput and CPU cost against the sandbox, over one keep-alive connection.

The servers (sandbox + a trivial aiohttp handler as the baseline) run in a child process, so
``time.process_time()`` in this process measures the client side only:

    .venv/bin/python bench/dynaccount.py [-n 2000]

Prints requests/s and client CPU µs per request for: a bare aiohttp GET (baseline), the client's
signed ``get`` (one row by id), and ``put`` (update one row), with the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.dynaccount.client import DynaccountClient
from agent.sandbox.dynaccount.server import (
    DEFAULT_API_ID,
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    running_sandbox,
)


async def _serve() -> None:
    async def trivial(request: web.Request) -> web.Response:
        return web.json_response({"result": []})

    app = web.Application()
    app.router.add_get("/trivial", trivial)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    async with running_sandbox() as sandbox:
        print(f"http://127.0.0.1:{sock.getsockname()[1]}/trivial {sandbox.base_url}", flush=True)
        await asyncio.Event().wait()


async def _measure(n: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    for _ in range(50):
        await call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, cpu / n * 1e6


async def _bench(n: int, trivial_url: str, base_url: str) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = DynaccountClient(session, base_url=base_url, api_id=DEFAULT_API_ID, api_key=DEFAULT_API_KEY,
                                  api_secret=DEFAULT_API_SECRET)  # fmt: skip
        unit = await client.put("unit", {"name": "bench"})

        async def bare() -> None:
            async with session.get(trivial_url) as resp:
                await resp.read()

        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("baseline: bare aiohttp GET, trivial handler", bare),
            ("client.get('vatcode', 1, select=…)", lambda: client.get("vatcode", 1, select=["id", "name", "rate"])),
            ("client.put('unit', {...}, id)", lambda: client.put("unit", {"name": "bench"}, unit["id"])),
        ]
        base_cpu = 0.0
        print(f"{'case':48} {'req/s':>9} {'client CPU µs/req':>18} {'CPU ratio':>10}")
        for name, call in cases:
            rate, cpu = await _measure(n, call)
            base_cpu = base_cpu or cpu
            print(f"{name:48} {rate:9.0f} {cpu:18.1f} {cpu / base_cpu:10.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return 0
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        trivial_url, base_url = server.stdout.readline().split()
        asyncio.run(_bench(args.n, trivial_url, base_url))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
