"""The stock section and the per-SKU page in a real headless Chromium; the button clicked with a real mouse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.sandbox.demo import Stack, demo_stack
from agent.sandbox.dynaccount.seed import set_stock

from .test_status_page import browser_page, dump_dom, needs_chromium  # type: ignore[import-not-found]

pytestmark = [pytest.mark.timeout(240), needs_chromium]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=ManualClock(), autostart=False) as s:
        yield s


async def test_sync_button_runs_the_stock_job_and_shows_every_sku(stack: Stack, tmp_path: Path) -> None:
    set_stock(stack.dyn.store, "TSHIRT-S", Decimal(17))
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/")
    assert "Stock (Dynaccount → shop)" in dom and "No run yet." in dom
    async with browser_page(tmp_path, f"{stack.agent_url}/") as page:
        # styled and laid out, and the button inside the viewport, so the click lands on it
        await page.wait_for("document.readyState === 'complete' && document.querySelector('#stock-sync') !== null")
        await page.js("document.querySelector('#stock-sync').scrollIntoView({block: 'center'})")
        await page.click("#stock-sync")
        await page.wait_for("location.pathname === '/stock' && document.querySelector('#sku-TSHIRT-S') !== null")
    assert stack.woo.state.items[14].stock_quantity == 17  # the click ran a real stock run
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/stock")
    assert 'id="sku-TSHIRT-S"' in dom and "Last run" in dom and "on demand" in dom
