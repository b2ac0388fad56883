"""SIGKILL right after a burst was acknowledged: every acknowledged delivery is in the journal."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import aiohttp

from agent.sandbox.ports import free_port
from agent.woo.signature import sign

ROOT = Path(__file__).resolve().parent.parent
SECRET = "crash-test-secret"


def write_config(tmp_path: Path, port: int) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace("port = 8787", f"port = {port}")
    text = text.replace('"/var/lib/dynaccount-agent/agent.sqlite3"', f'"{tmp_path / "journal.sqlite3"}"')
    text = text.replace('"change-me-to-a-long-random-secret"', f'"{SECRET}"')
    text = text.replace("[sweep]\n# Poll WooCommerce for orders whose webhook was lost, merged or never sent (disabled webhook).\nenabled = true", "[sweep]\nenabled = false")
    text = text.replace('url = "https://shop.example.dk"', 'url = "http://127.0.0.1:9"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert tomllib.loads(text)["server"]["port"] == port
    return path


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--config", str(config)],
        cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


async def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "agent exited during start-up"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("agent did not become healthy")


async def send_burst(port: int, bodies: list[bytes], halfway: asyncio.Event | None = None) -> list[bytes]:
    acked: list[bytes] = []

    async def send(session: aiohttp.ClientSession, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.updated",
                   "X-WC-Webhook-Signature": sign(body, SECRET)}
        try:
            async with session.post(f"http://127.0.0.1:{port}/webhooks/woocommerce", data=body,
                                    headers=headers) as resp:
                if resp.status == 200:
                    acked.append(body)
                    if halfway is not None and len(acked) >= len(bodies) // 10:
                        halfway.set()
        except aiohttp.ClientError:
            pass

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        await asyncio.gather(*(send(session, b) for b in bodies))
    return acked


async def test_sigkill_after_acknowledged_burst_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "agent.log"
    proc = start_agent(config, log)
    try:
        await wait_healthy(port, proc)
        bodies = [b'{"id":%d,"status":"processing","n":%d}' % (1000 + i, i) for i in range(400)]
        acked = await send_burst(port, bodies)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acked) == len(bodies), log.read_text()[-2000:]

    proc = start_agent(config, log)
    try:
        await wait_healthy(port, proc)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/api/status") as resp:
                status: dict[str, Any] = await resp.json()
        assert status["deliveries"]["received"] >= len(acked)
        # one work item per order, whatever the worker managed to do with it (the shop is unreachable here)
        assert sum(status["work"].values()) == len(acked)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()[-2000:]
    with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
        stored = {bytes(r[0]) for r in conn.execute("SELECT body FROM deliveries")}
    assert set(acked) <= stored


async def test_sigkill_mid_burst_keeps_every_acknowledged_one(tmp_path: Path) -> None:
    """Kill while requests are still in flight: whatever got its 200 must be there after restart."""
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "agent.log"
    proc = start_agent(config, log)
    try:
        await wait_healthy(port, proc)
        bodies = [b'{"id":%d,"status":"processing"}' % (5000 + i) for i in range(2000)]
        halfway = asyncio.Event()
        burst = asyncio.create_task(send_burst(port, bodies, halfway))
        await asyncio.wait_for(halfway.wait(), timeout=30)
        os.kill(proc.pid, signal.SIGKILL)
        acked = await burst
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert 0 < len(acked) < len(bodies), "the kill should land mid-burst"
    with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
        stored = {bytes(r[0]) for r in conn.execute("SELECT body FROM deliveries")}
    assert set(acked) <= stored
