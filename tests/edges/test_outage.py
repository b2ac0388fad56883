"""An outside system's outage is visible: its state, since when and the work waiting on it, on the
page (headless Chromium), in /api/status and /healthz; the worker shows paused and only probes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack, place_orders

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"
pytestmark = pytest.mark.timeout(240)


async def chromium(profile: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


async def work_rounds(stack: Stack, clock: ManualClock, rounds: int) -> int:
    ran = 0
    for _ in range(rounds):
        await stack.woo.wait_idle()
        ran += await stack.services.worker.run_once()
        clock.advance(stack.config.worker.backoff_base_seconds + 1)
    return ran


async def outage(make_stack: Callable[..., Any], check: Callable[[Stack, str], Any]) -> None:
    clock, ctx = make_stack()
    async with ctx as stack:
        stack.dyn.faults.force("drop", times=100_000)  # Dynaccount stops answering
        orders = await place_orders(stack, 12)
        ran = await work_rounds(stack, clock, 5)
        # the first wave meets the outage; after it, one probe per round instead of every order again
        assert ran <= stack.config.worker.concurrency + 5
        await check(stack, "down")
        stack.dyn.faults.clear()
        clock.advance(stack.config.worker.backoff_cap_seconds + 1)
        for _ in range(50):
            await work_rounds(stack, clock, 1)
            counts = await stack.app[JOURNAL].counts()
            if counts.work["done"] == len(orders):
                break
        assert (await stack.app[JOURNAL].counts()).work["done"] == len(orders)
        await check(stack, "up")


async def test_outage_in_status_json_and_healthz(make_stack: Callable[..., Any]) -> None:
    async def check(stack: Stack, state: str) -> None:
        status_code, status = await get_json(f"{stack.agent_url}/api/status")
        health_code, health = await get_json(f"{stack.agent_url}/healthz")
        dyn = status["systems"]["dynaccount"]
        assert health_code == 200 and status_code == 200
        assert dyn["state"] == state and health["systems"]["dynaccount"]["state"] == state
        assert status["systems"]["woocommerce"]["state"] == "up"
        if state == "down":
            assert dyn["waiting"] == 12 and dyn["since"]
            assert health["status"] == "degraded"
            assert "Dynaccount" in status["worker"]["paused"]
            (entry,) = [a for a in status["attention"] if a["system"] == "dynaccount"]
            assert entry["waiting"] == 12 and "is down since" in entry["message"]
        else:
            assert health["status"] == "ok" and status["worker"]["paused"] is None
            assert not [a for a in status["attention"] if a.get("system")]

    await outage(make_stack, check)


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="run scripts/install-system-packages.sh first")
async def test_outage_on_the_page_in_chromium(make_stack: Callable[..., Any], tmp_path: Path) -> None:
    async def check(stack: Stack, state: str) -> None:
        dom = await chromium(tmp_path / f"profile-{state}", "--dump-dom", f"{stack.agent_url}/")
        assert f'data-system="dynaccount" data-state="{state}"' in dom
        if state == "down":
            assert "needs attention" in dom and "12 waiting" in dom and "Worker paused: Dynaccount" in dom
        else:
            assert "healthy" in dom and "waiting</span>" not in dom and "Worker paused" not in dom
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"outage-{state}.png"
        shot.unlink(missing_ok=True)
        await chromium(tmp_path / f"shot-{state}", f"--screenshot={shot}", "--window-size=1280,900", f"{stack.agent_url}/")
        assert shot.stat().st_size > 10_000

    await outage(make_stack, check)
