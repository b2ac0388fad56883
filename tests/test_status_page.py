"""The status page in a real headless Chromium, against the demo stack (both sandboxes + the agent).

Chromium renders the page (``--dump-dom``, ``--screenshot``); the Retry button is clicked with a real
mouse event through the DevTools protocol, so the form post carries the browser's own Origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest

from agent.app import JOURNAL, create_app
from agent.clock import ManualClock
from agent.config import Config
from agent.sandbox.demo import CK, CS, WEBHOOK_SECRET, Stack, demo_stack, place_orders, refund_some
from agent.woo.signature import sign

from .e2e.conftest import drive  # type: ignore[import-not-found]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]  # fmt: skip
TIMEOUT = 60.0
SCREENSHOTS = Path(__file__).resolve().parent.parent / "data" / "screenshots"

pytestmark = pytest.mark.timeout(240)
needs_chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="run scripts/install-system-packages.sh first")


# -- Chromium --------------------------------------------------------------------------------------


async def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium to completion (killed after TIMEOUT) and return its stdout."""
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def dump_dom(tmp_path: Path, url: str) -> str:
    return await chromium(tmp_path / "profile-dump", "--dump-dom", url)


async def screenshot(tmp_path: Path, url: str, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    target.unlink(missing_ok=True)
    await chromium(tmp_path / "profile-shot", f"--screenshot={target}", "--window-size=1280,900", url)
    assert target.stat().st_size > 10_000  # a real rendering, not a blank page
    return target


class Page:
    """A minimal DevTools-protocol client for one tab of a headless Chromium."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session_id: str) -> None:
        self._ws, self._session, self._ids = ws, session_id, itertools.count(1)

    @staticmethod
    async def command(ws: aiohttp.ClientWebSocketResponse, ids: Any, method: str, session: str | None = None,
                      **params: Any) -> dict[str, Any]:  # fmt: skip
        msg_id = next(ids)
        await ws.send_json({"id": msg_id, "method": method, "params": params,
                            **({"sessionId": session} if session else {})})  # fmt: skip
        while True:
            reply = await asyncio.wait_for(ws.receive_json(), TIMEOUT)
            if reply.get("id") == msg_id:
                assert "error" not in reply, reply
                return dict(reply.get("result", {}))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.command(self._ws, self._ids, method, self._session, **params)

    async def js(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        for _ in range(int(TIMEOUT / 0.05)):
            with contextlib.suppress(AssertionError):  # the page may be between documents
                value = await self.js(expression)
                if value:
                    return value
            await asyncio.sleep(0.05)  # waiting for the browser, not for the agent's work
        raise AssertionError(f"page never satisfied {expression}")

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element."""
        # Input sent before the page has painted is dropped by Chromium (seen under load: the click never
        # reached the form), so wait until the document is complete and two frames were drawn.
        await self.wait_for("document.readyState === 'complete'")
        await self.send("Runtime.evaluate", awaitPromise=True, returnByValue=True,
                        expression="new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))")
        # scrolled into view first, as a person would: a point outside the viewport receives no click
        box = await self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                            f" e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();"
                            f" return [r.x + r.width / 2, r.y + r.height / 2]; }})()")  # fmt: skip
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


@contextlib.asynccontextmanager
async def browser_page(tmp_path: Path, url: str) -> AsyncIterator[Page]:
    profile = tmp_path / "profile-cdp"
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,900",
        "about:blank", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        endpoint = await asyncio.wait_for(_devtools_endpoint(profile / "DevToolsActivePort"), TIMEOUT)
        async with aiohttp.ClientSession() as session, session.ws_connect(endpoint, max_msg_size=0) as ws:
            ids = itertools.count(1_000)
            target = await Page.command(ws, ids, "Target.createTarget", url=url)
            attached = await Page.command(ws, ids, "Target.attachToTarget", targetId=target["targetId"], flatten=True)
            yield Page(ws, attached["sessionId"])
    finally:
        proc.kill()
        await proc.wait()


def _port_file(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def _devtools_endpoint(port_file: Path) -> str:
    """Chromium writes its DevTools port and browser path to this file once it listens."""
    while True:
        lines = _port_file(port_file)
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(0.05)


# -- the scenario ----------------------------------------------------------------------------------


async def pending_order(stack: Stack) -> int:
    order = await stack.shop.create_order({
        "payment_method": "bacs", "line_items": [{"product_id": 11, "quantity": 1}],
        "billing": {"country": "DK", "email": "waiting@example.dk", "first_name": "Vera"},
    })  # fmt: skip
    return order.id


HOSTILE_TOPIC = '<img src=x onerror="document.title=1">.created'


async def broken_deliveries(stack: Stack) -> None:
    """Signed with the real secret but unusable: broken JSON, and a topic carrying markup."""
    cases = [(b'{"id": 4242, "status": "proc', "order.updated"), (b'{"id": 5}', HOSTILE_TOPIC)]
    async with aiohttp.ClientSession() as session:
        for body, topic in cases:
            headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
                       "X-WC-Webhook-Signature": sign(body, WEBHOOK_SECRET), "X-WC-Webhook-ID": "1"}  # fmt: skip
            async with session.post(f"{stack.agent_url}/webhooks/woocommerce", data=body, headers=headers) as resp:
                assert resp.status == 200


async def refunds_one_later_deleted(stack: Stack, clock: ManualClock, ids: list[int]) -> int:
    """Two refunds become credit notes; then the shop owner deletes the second refund in wp-admin."""
    await refund_some(stack, ids, {0: "line", 1: "amount"})
    await drive(stack, clock)
    [deleted] = stack.woo.state.order(ids[1]).refunds
    stack.woo.state.order(ids[1]).refunds.clear()  # deleting a refund sends no webhook ...
    await stack.shop.update_order(ids[1], {"customer_note": "refund deleted"})  # ... a later change does
    await drive(stack, clock)
    return deleted.id


async def failing_order(stack: Stack, clock: ManualClock) -> int:
    """An order Dynaccount refuses (400): a permanent error fails the item (transient ones never do)."""
    stack.dyn.faults.force("400", times=1000)
    [order_id] = await place_orders(stack, 1, seed=99)
    await drive(stack, clock)
    stack.dyn.faults.clear()
    return order_id


@pytest.fixture
async def scenario(tmp_path: Path) -> AsyncIterator[tuple[Stack, ManualClock, dict[str, Any]]]:
    clock = ManualClock()
    ctx = demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False,
                     overrides={"worker": {"max_attempts": 2}})  # fmt: skip
    async with ctx as stack:
        ids = await place_orders(stack, 3)
        waiting = await pending_order(stack)
        await drive(stack, clock)
        deleted_refund = await refunds_one_later_deleted(stack, clock, ids)
        await broken_deliveries(stack)
        failed = await failing_order(stack, clock)
        yield stack, clock, {"invoiced": ids, "waiting": waiting, "failed": failed, "deleted_refund": deleted_refund}


def secrets(stack: Stack) -> list[str]:
    dyn = stack.config.dynaccount
    return [CK, CS, WEBHOOK_SECRET, dyn.api_key.get_secret_value(), dyn.api_secret.get_secret_value()]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- tests -----------------------------------------------------------------------------------------


@needs_chromium
async def test_overview_shows_orders_reasons_failures_and_bad_deliveries(
    scenario: tuple[Stack, ManualClock, dict[str, Any]], tmp_path: Path
) -> None:
    stack, _, orders = scenario
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/")
    page = text(dom)
    journal = stack.app[JOURNAL]
    for order_id in orders["invoiced"]:
        link = await journal.get_link("order", order_id)
        assert link is not None and link.dyn_number
        assert re.search(rf'<tr id="order:{order_id}">.*?done.*?invoice {link.dyn_number}\b.*?</tr>', dom, re.S)
    assert re.search(rf'<tr id="order:{orders["waiting"]}">.*?skipped.*?pending', dom, re.S)
    assert re.search(rf'<tr id="order:{orders["failed"]}">.*?failed.*?refused', dom, re.S)
    assert "needs attention" in page and "1 work item(s) failed" in page
    refund = orders["deleted_refund"]
    assert f"refund {refund} was deleted in WooCommerce but is credited in Dynaccount" in page
    assert "Deliveries that could not be used" in page and "invalid_json" in page and "order.updated" in page
    assert "received" in page and "rejected" in page and "duplicates" in page
    # refunds waiting for a booking have their own count; each sweep job shows its own last run
    assert "0 waiting for a booking" in page
    assert "reconcile orders:" in page and "webhook health:" in page and "drafts watch:" in page
    # the hostile topic is shown as text, never as markup
    assert "unknown_topic" in page and "<img" not in dom and "&lt;img src=x" in dom
    # retry buttons exist exactly on the failed and the skipped item
    buttons = set(re.findall(r'class="retry" data-key="([^"]+)"', dom))
    assert buttons == {f"order:{orders['waiting']}", f"order:{orders['failed']}"}
    for secret in secrets(stack):
        assert secret not in dom
    shot = await screenshot(tmp_path, f"{stack.agent_url}/", "status-overview.png")
    assert shot.exists()


@needs_chromium
async def test_state_filter(scenario: tuple[Stack, ManualClock, dict[str, Any]], tmp_path: Path) -> None:
    stack, _, orders = scenario
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/?state=failed")
    rows = re.findall(r'<tr id="([^"]+)">', dom)
    assert rows == [f"order:{orders['failed']}"]
    async with aiohttp.ClientSession() as session, session.get(f"{stack.agent_url}/?state=bogus") as resp:
        assert resp.status == 400


@needs_chromium
async def test_item_page_shows_plan_lines_vat_totals_and_dynaccount_link(
    scenario: tuple[Stack, ManualClock, dict[str, Any]], tmp_path: Path
) -> None:
    stack, _, orders = scenario
    order_id = orders["invoiced"][0]
    link = await stack.app[JOURNAL].get_link("order", order_id)
    assert link is not None and link.amount is not None
    url = f"{stack.agent_url}/work/order:{order_id}"
    dom = await dump_dom(tmp_path, url)
    page = text(dom)
    assert f"Invoice {link.dyn_number}" in page
    assert f"Dynaccount id {link.dyn_id}" in page and f"Reference woo/order-{order_id}" in page
    assert f"Amount {link.amount}" in page and f"Total DKK {link.amount}" in page
    assert re.search(r'<span class="vat">K25</span>', dom)  # VAT codes per line, in a table
    assert "Mette Jørgensen" in page and "Timeline" in page and "booked for debtor" in page
    notes = list((await stack.app[JOURNAL].order_facts(order_id)).refunds.values())
    assert len(notes) == 1 and notes[0].dyn_number
    assert f"Credit note {notes[0].dyn_number} for refund {notes[0].woo_id}" in page
    assert "Payment registration" in page and "Latest plan" in page
    assert not re.search(r'class="retry"', dom)  # a done item has nothing to retry
    for secret in secrets(stack):
        assert secret not in dom
    await screenshot(tmp_path, url, "status-item.png")


@needs_chromium
async def test_skipped_item_page_shows_reason(
    scenario: tuple[Stack, ManualClock, dict[str, Any]], tmp_path: Path
) -> None:
    stack, _, orders = scenario
    page = text(await dump_dom(tmp_path, f"{stack.agent_url}/work/order:{orders['waiting']}"))
    assert "skipped" in page and "pending" in page
    assert "Nothing in Dynaccount for this item" in page


@needs_chromium
async def test_retry_clicked_in_the_browser_requeues_and_the_item_gets_invoiced(
    scenario: tuple[Stack, ManualClock, dict[str, Any]], tmp_path: Path
) -> None:
    stack, clock, orders = scenario
    key = f"order:{orders['failed']}"
    async with browser_page(tmp_path, f"{stack.agent_url}/?state=failed") as page:
        await page.wait_for(f"document.querySelector('button.retry[data-key=\"{key}\"]') !== null")
        await page.click(f'button.retry[data-key="{key}"]')
        # the form posted and redirected back to the filtered list, where the item is no longer failed
        await page.wait_for("document.readyState === 'complete' && !document.querySelector('button.retry')")
        assert await page.js("location.pathname + location.search") == "/?state=failed"
    item = await stack.app[JOURNAL].get_work(key)
    assert item is not None and item.state == "pending" and item.attempts == 0
    await drive(stack, clock)
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/work/{key}")
    link = await stack.app[JOURNAL].get_link("order", orders["failed"])
    assert link is not None and link.dyn_number
    assert "retry requested from the status page" in dom
    assert re.search(r'<span class="badge st-done">done</span>', dom) and f"Invoice {link.dyn_number}" in text(dom)


async def test_retry_refuses_cross_site_posts(scenario: tuple[Stack, ManualClock, dict[str, Any]]) -> None:
    stack, _, orders = scenario
    key = f"order:{orders['failed']}"
    url = f"{stack.agent_url}/work/{key}/retry"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data={"next": "/"}, headers={"Origin": "http://evil.example"},
                                allow_redirects=False) as resp:  # fmt: skip
            assert resp.status == 403
        item = await stack.app[JOURNAL].get_work(key)
        assert item is not None and item.state == "failed"
        async with session.post(url, data={"next": "//evil.example/"}, allow_redirects=False,
                                headers={"Origin": stack.agent_url}) as resp:  # fmt: skip
            assert resp.status == 303 and unquote(resp.headers["Location"]) == f"/work/{key}"
        async with session.post(f"{stack.agent_url}/work/order:999999/retry", allow_redirects=False,
                                headers={"Origin": stack.agent_url}) as resp:  # fmt: skip
            assert resp.status == 404
        async with session.get(f"{stack.agent_url}/") as resp:
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


async def test_page_in_intake_only_mode(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> None:
    client = await aiohttp_client(create_app(make_config(), background=False))
    resp = await client.get("/")
    assert resp.status == 200 and "intake-only mode" in await resp.text()
    resp = await client.get("/work/order:1")
    assert resp.status == 404
