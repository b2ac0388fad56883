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
from agent.sandbox.demo import DEFAULT_REFUNDS, Stack, demo_stack, place_orders, refund_some

from .e2e.conftest import drive  # type: ignore[import-not-found]
from .test_status_page import browser_page, dump_dom, needs_chromium, screenshot, text

pytestmark = pytest.mark.timeout(240)


async def held_order(s: Stack, clock: ManualClock, first_name: str) -> int:
    """13 × 0.99 incl. VAT: per-line rounding cannot reach WooCommerce's total (held at tolerance 0)."""
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
    [row] = [r for r in s.dyn.store.tables["debtor_invoice"].values() if r["requisition"] == f"woo/order-{order_id}"]
    return bool(row["invoice_id_"])


async def click_decision(s: Stack, tmp_path: Path, action: str, key: str, fields: dict[str, str]) -> str:
    async with browser_page(tmp_path / action, f"{s.agent_url}/held") as page:
        form = f'form[action="/held/{key.replace(":", "%3A")}/{action}"]'
        await page.wait_for(f"document.querySelector('{form}') !== null")
        for name, value in fields.items():
            await page.js(f"document.querySelector('{form} input[name=\"{name}\"]').value = {value!r}")
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
    [item] = [i for i in await Approvals(s.app[JOURNAL]).held() if i.key == f"order:{approve_id}"]
    assert item.plan is not None
    assert item.reason in page and f"Total DKK {item.plan['totals']['total']}" in page  # why, and what would be booked
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
        async with session.post(url, data={"by": " "}, allow_redirects=False,
                                headers={"Origin": s.agent_url}) as resp:  # same origin, but no name
            assert resp.status == 303 and "error=" in resp.headers["Location"]
    item = await s.app[JOURNAL].get_work(f"order:{order_id}")
    assert item is not None and item.state == "held"


@needs_chromium
async def test_reconciliation_page_agrees_on_the_demos_books_then_points_at_a_missing_invoice(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False) as s:
        ids = await place_orders(s, 12)  # the demo's order stream and refunds, a full refund among them
        await drive(s, clock)
        await refund_some(s, ids, DEFAULT_REFUNDS)
        await drive(s, clock)
        dom = await dump_dom(tmp_path, f"{s.agent_url}/reconcile?from=2000-01-01&to=2100-01-01")
        page = text(dom)
        assert "everything agrees" in page and "12 orders" in page and "12 invoices" in page
        assert f"{len(s.refunds)} refunds" in page and f"{len(s.refunds)} credit notes" in page
        assert re.search(r'<table class="grid oss">.*?<td>DE</td>.*?</table>', dom, re.S)  # this quarter's OSS
        store = s.dyn.store
        [gone] = [r for r in store.tables["debtor_invoice"].values() if r["requisition"] == f"woo/order-{ids[0]}"]
        del store.tables["debtor_invoice"][gone["id"]]  # (order 0 has no refund)
        dom = await dump_dom(tmp_path, f"{s.agent_url}/reconcile?from=2000-01-01&to=2100-01-01")
        assert "1 difference(s)" in text(dom)
        assert re.search(rf'<tr class="diff-missing">.*?woo/order-{ids[0]}.*?href="/work/order%3A{ids[0]}"', dom, re.S)
        total = sum([(await s.shop.get_order(i)).total for i in ids[1:]], Decimal(0))
        assert str(total) in text(dom)  # invoiced per currency
        shot = await screenshot(tmp_path, f"{s.agent_url}/reconcile?from=2000-01-01&to=2100-01-01", "reconcile.png")
        assert shot.exists()


@needs_chromium
async def test_work_list_for_a_bookkeeper(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False) as s:
        ids = await place_orders(s, 3)
        await drive(s, clock)
        journal = s.app[JOURNAL]
        dom = await dump_dom(tmp_path, f"{s.agent_url}/")
        tz = ZoneInfo(s.config.server.timezone)
        for order_id in ids:
            order = await s.shop.get_order(order_id)
            link = await journal.get_link("order", order_id)
            assert link is not None
            assert order.date_created_gmt is not None
            local = datetime.fromisoformat(order.date_created_gmt).replace(tzinfo=UTC).astimezone(tz)
            row = re.search(rf'<tr id="order:{order_id}">(.*?)</tr>', dom, re.S)
            assert row is not None
            cells = [text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
            name = order.billing.company or f"{order.billing.first_name} {order.billing.last_name}"
            assert cells[:6] == [order.number, local.strftime("%Y-%m-%d %H:%M"), name, f"{order.total} {order.currency}",
                                 str(link.dyn_number), "done"]
        assert f"Times in {s.config.server.timezone}" in text(dom)
        # the item's timeline, too, is in the shop's time zone (the JSON API keeps UTC with a Z)
        item = text(await dump_dom(tmp_path, f"{s.agent_url}/work/order:{ids[0]}"))
        assert datetime.fromtimestamp(clock.now(), tz).strftime("%Y-%m-%d %H:%M:%S") in item
        # text search by e-mail, and an order-date window that holds nothing
        first = await s.shop.get_order(ids[0])
        found = await dump_dom(tmp_path, f"{s.agent_url}/?q={first.billing.email}")
        assert f'<tr id="order:{ids[0]}">' in found
        assert set(re.findall(r'<tr id="([^"]+)">', found)) <= {f"order:{i}" for i in ids}
        empty = await dump_dom(tmp_path, f"{s.agent_url}/?from=2001-01-01&to=2001-01-31")
        assert "No work items matching the filter" in text(empty)
        # paging: 60 more items; the first page shows 50 and links to the older ones
        for n in range(60):
            clock.advance(1)
            await journal.hint_work(f"order:{90_000 + n}")
        page1 = await dump_dom(tmp_path, f"{s.agent_url}/?state=pending")
        rows1 = re.findall(r'<tr id="([^"]+)">', page1)
        assert len(rows1) == 50 and rows1[0] == "order:90059"
        more = re.search(r'<a class="next" href="([^"]+)"', page1)
        assert more is not None
        page2 = await dump_dom(tmp_path, s.agent_url + more.group(1).replace("&amp;", "&"))
        rows2 = re.findall(r'<tr id="([^"]+)">', page2)
        assert rows2 == [f"order:{90_000 + n}" for n in range(9, -1, -1)]


async def test_a_webhook_reactivated_by_the_agent_stays_shown(tmp_path: Path) -> None:
    """Shown on the page after the next health check found it healthy again, in the shop's time zone."""
    import aiohttp

    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False) as s:
        hooks = await s.shop.list_webhooks()
        [updated] = [h for h in hooks if h.topic == "order.updated"]
        await s.shop.update_webhook(updated.id, status="disabled")
        await s.services.sweep.webhooks.run()
        await s.services.sweep.webhooks.run()  # healthy again: the job's own report no longer names it
        assert s.services.sweep.webhooks.report.reactivated == []
        async with aiohttp.ClientSession() as session, session.get(f"{s.agent_url}/") as resp:
            html = await resp.text()
        from zoneinfo import ZoneInfo

        from agent.web.worklist import local

        when = local(clock.now(), ZoneInfo(s.config.server.timezone))
        assert re.search(rf'<ul class="webhook-events"><li><span class="when">{when}</span> webhook order.updated was '
                         r"disabled: re-activated</li>", html)


async def test_a_running_import_shows_its_progress_on_the_page(tmp_path: Path) -> None:
    """The import runs in its own process (the CLI) and writes its state to the journal the page reads."""
    import aiohttp

    from agent.importer import Importer, PlainProgress

    clock = ManualClock()
    async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False) as s:
        importer = Importer(s.app[JOURNAL])
        seen: list[str] = []

        async def one(keys: list[str]) -> list[str]:  # batches of one (the default)
            if keys == ["order:3"]:  # mid-way: what does the page show now?
                async with aiohttp.ClientSession() as session, session.get(f"{s.agent_url}/") as resp:
                    seen.append(text(await resp.text()))
            return ["done"] * len(keys)

        import io

        state = await importer.run("2026-01-01", None, [1, 2, 3, 4], one,
                                   lambda total, start: PlainProgress(total, start, io.StringIO()))  # fmt: skip
        assert state.summary() == "4 orders imported: 4 done"
        assert "Historic import 2026-01-01" in seen[0] and "2 of 4 orders (50 %) · running" in seen[0]
        async with aiohttp.ClientSession() as session, session.get(f"{s.agent_url}/") as resp:
            after = text(await resp.text())
        assert "4 of 4 orders (100 %) · finished" in after and "4 orders imported: 4 done" in after
