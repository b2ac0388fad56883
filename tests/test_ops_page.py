"""The operations views in headless Chromium: approve and dismiss clicked on the held page, the reconciliation
page agreeing on clean books and pointing at the item behind a difference, the OSS table."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from agent.app import JOURNAL
from agent.approvals import Approvals
from agent.clock import ManualClock
from agent.sandbox.demo import Stack, demo_stack, place_orders

from .e2e.conftest import drive  # type: ignore[import-not-found]
from .test_status_page import browser_page, dump_dom, needs_chromium, text

pytestmark = pytest.mark.timeout(240)


async def held_order(s: Stack, clock: ManualClock, first_name: str) -> int:
    """13 × 0.99 incl. VAT: per-line rounding ends one øre above WooCommerce's total (held at tolerance 0)."""
    s.woo.state.update_product(11, {"regular_price": "0.99"})
    order = await s.shop.create_order({
        "payment_method": "bacs", "set_paid": True, "line_items": [{"product_id": 11, "quantity": 13}],
        "billing": {"country": "DK", "email": "held@example.dk", "first_name": first_name},
    })  # fmt: skip
    await drive(s, clock)
    return order.id


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[tuple[Stack, ManualClock]]:
    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False,
                          overrides={"invoice": {"rounding_tolerance": "0"}}) as s:  # fmt: skip
        yield s, clock


def booked(s: Stack, order_id: int) -> bool:
    [row] = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == f"woo-order-{order_id}"]
    return bool(row["invoice_id_"])


async def click_decision(s: Stack, tmp_path: Path, action: str, key: str, fields: dict[str, str]) -> str:
    async with browser_page(tmp_path / action, f"{s.agent_url}/held") as page:
        form = f'form[action="/held/{key.replace(":", "%3A")}/{action}"]'
        await page.wait_for(f"document.querySelector('{form}') !== null")
        for name, value in fields.items():
            await page.js(f"document.querySelector('{form} input[name=\"{name}\"]').value = {value!r}")
        await page.js(f"document.querySelector('{form} button').scrollIntoView({{block: 'center'}})")
        await page.click(f"{form} button")
        await page.wait_for("document.readyState === 'complete' && /[?&](done|error)=/.test(location.search)")
        return str(await page.js("document.body.innerText"))


@needs_chromium
async def test_approve_and_dismiss_clicked_in_the_browser(strict: tuple[Stack, ManualClock], tmp_path: Path) -> None:
    s, clock = strict
    approve_id, dismiss_id = await held_order(s, clock, "Anna"), await held_order(s, clock, "Bo")
    dom = await dump_dom(tmp_path, f"{s.agent_url}/held")
    page = text(dom)
    for order_id in (approve_id, dismiss_id):
        assert f'id="held-order:{order_id}"' in dom
    assert "beyond the tolerance of 0" in page and "12.88" in page  # why, and what would be booked
    assert re.search(r'<span class="vat">K25</span>', dom)
    shown = await click_decision(s, tmp_path, "approve", f"order:{approve_id}", {"by": "Bente Bogholder"})
    assert f"order:{approve_id}: approve recorded" in shown
    shown = await click_decision(s, tmp_path, "dismiss", f"order:{dismiss_id}",
                                 {"by": "Bente Bogholder", "reason": "staff purchase, booked by hand"})
    assert f"order:{dismiss_id}: dismiss recorded" in shown
    await drive(s, clock)
    journal = s.app[JOURNAL]
    approved, dismissed = await journal.get_work(f"order:{approve_id}"), await journal.get_work(f"order:{dismiss_id}")
    assert approved is not None and approved.state == "done" and booked(s, approve_id)
    assert dismissed is not None and dismissed.state == "done" and not booked(s, dismiss_id)
    assert dismissed.reason == "dismissed by Bente Bogholder: staff purchase, booked by hand; nothing booked"
    [decision] = await Approvals(journal).history(f"order:{approve_id}")
    assert decision.by == "Bente Bogholder" and decision.at == clock.now()
    assert "Nothing is held" in text(await dump_dom(tmp_path, f"{s.agent_url}/held"))


async def test_decisions_refuse_cross_site_posts_and_need_a_name(strict: tuple[Stack, ManualClock]) -> None:
    import aiohttp

    s, clock = strict
    order_id = await held_order(s, clock, "Cai")
    url = f"{s.agent_url}/held/order:{order_id}/approve"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data={"by": "x"}, headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403
        async with session.post(url, data={"by": " "}, allow_redirects=False) as resp:
            assert resp.status == 303 and "error=" in resp.headers["Location"]
    item = await s.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None and item.state == "held"


@needs_chromium
async def test_reconciliation_page_agrees_then_points_at_a_missing_invoice(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False) as s:
        ids = await place_orders(s, 8)
        await drive(s, clock)
        dom = await dump_dom(tmp_path, f"{s.agent_url}/reconcile?run=1&from=2000-01-01&to=2100-01-01")
        page = text(dom)
        assert "everything agrees" in page and "8 orders" in page and "8 invoices" in page
        assert re.search(r'<table class="grid oss">.*?<td>DE</td>.*?</table>', dom, re.S)  # this quarter's OSS
        store = s.dyn.store
        [gone] = [r for r in store.tables["debtor_invoice"].values() if r["requisition"] == f"woo-order-{ids[0]}"]
        del store.tables["debtor_invoice"][gone["id"]]
        dom = await dump_dom(tmp_path, f"{s.agent_url}/reconcile?run=1&from=2000-01-01&to=2100-01-01")
        assert "1 difference(s)" in text(dom)
        assert re.search(rf'<tr class="diff-missing">.*?woo-order-{ids[0]}.*?href="/work/order%3A{ids[0]}"', dom, re.S)
        total = sum([(await s.shop.get_order(i)).total for i in ids[1:]], Decimal(0))
        assert str(total) in text(dom)  # invoiced per currency
