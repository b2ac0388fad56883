"""The mail on the status page, in a real headless Chromium: per item state, resend, preview, outbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.journal.mail import MailJournal
from agent.sandbox.demo import Stack, demo_stack, place_orders

from ..test_status_page import browser_page, dump_dom, needs_chromium, screenshot, text  # type: ignore[import-not-found]
from .conftest import drive, mail_worker  # type: ignore[import-not-found]
from .smtpkit import Server, mail_settings, smtp_server  # type: ignore[import-not-found]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def scenario(tmp_path: Path) -> AsyncIterator[tuple[Stack, ManualClock, Server, dict[str, int]]]:
    """Three orders: one mailed, one refused by the server (550), one interrupted during DATA (unknown)."""
    clock = ManualClock()
    async with smtp_server() as server:
        async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False,
                              overrides={"mail": mail_settings(server.port)}) as stack:  # fmt: skip
            server.recorder.rcpt_answers = ["250", "550 5.1.1 mailbox unavailable"]
            sent, refused, lost = await place_orders(stack, 3, seed=3)

            async def hang_up() -> None:
                if len(server.recorder.received) == 2:
                    raise ConnectionResetError("line dropped")

            server.recorder.on_data = hang_up
            await drive(stack, clock)
            server.recorder.on_data = None
            yield stack, clock, server, {"sent": sent, "refused": refused, "lost": lost}


async def mail_of(stack: Stack, order_id: int) -> Any:
    [row] = await MailJournal(stack.app[JOURNAL]).for_work(f"order:{order_id}")
    return row


@needs_chromium
async def test_item_pages_show_each_mails_state(scenario: tuple[Stack, ManualClock, Server, dict[str, int]],
                                                tmp_path: Path) -> None:  # fmt: skip
    stack, _, _, orders = scenario
    sent = await mail_of(stack, orders["sent"])
    page = text(await dump_dom(tmp_path, f"{stack.agent_url}/work/order:{orders['sent']}"))
    assert sent.state == "sent" and "Mail" in page and f"{sent.message_id}" in page.replace("&lt;", "<").replace("&gt;", ">")
    assert "250 2.0.0 Ok: queued as Q1" in page
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/work/order:{orders['refused']}")
    assert "550 5.1.1 mailbox unavailable" in text(dom) and 'data-mail="woo/order-' in dom
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/work/order:{orders['lost']}")
    assert "unknown — check and resend" in text(dom) and 'data-mail="woo/order-' in dom
    await screenshot(tmp_path, f"{stack.agent_url}/work/order:{orders['lost']}", "mail-item.png")


@needs_chromium
async def test_resend_clicked_in_the_browser_sends_the_unknown_mail_again(
    scenario: tuple[Stack, ManualClock, Server, dict[str, int]], tmp_path: Path
) -> None:
    stack, _, server, orders = scenario
    lost = await mail_of(stack, orders["lost"])
    before = len(server.recorder.received)
    async with browser_page(tmp_path, f"{stack.agent_url}/mail?state=unknown") as page:
        selector = f'button.retry[data-mail="{lost.reference}"]'
        await page.wait_for(f"document.querySelector({selector!r}) !== null")
        await page.click(selector)
        await page.wait_for("document.readyState === 'complete' && !document.querySelector('button.retry')")
        assert await page.js("location.pathname + location.search") == "/mail?state=unknown"
    assert (await mail_of(stack, orders["lost"])).state == "queued"
    await mail_worker(stack).run_once()
    assert (await mail_of(stack, orders["lost"])).state == "sent"
    assert len(server.recorder.received) == before + 1
    assert server.recorder.received[-1].message["Message-ID"] == lost.message_id


@needs_chromium
async def test_outbox_and_preview(scenario: tuple[Stack, ManualClock, Server, dict[str, int]], tmp_path: Path) -> None:
    stack, _, server, orders = scenario
    page = text(await dump_dom(tmp_path, f"{stack.agent_url}/mail"))
    assert "Outbox" in page and "1 sent" in page and "1 failed" in page and "1 unknown" in page
    assert "may or may not have arrived" in page
    index = text(await dump_dom(tmp_path, f"{stack.agent_url}/"))
    assert "Mail 1 sent" in index
    sent = server.recorder.received[0].message
    dom = await dump_dom(tmp_path, f"{stack.agent_url}/mail/preview/{orders['sent']}")
    preview = text(dom)
    assert sent["Subject"] in preview.replace("&amp;", "&") and "Tak for din ordre" in preview
    assert "&lt;table" in dom  # the HTML part's source, as text
    await screenshot(tmp_path, f"{stack.agent_url}/mail/preview/{orders['sent']}", "mail-preview.png")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{stack.agent_url}/mail/preview/{orders['sent']}/html") as resp:
            assert "sandbox" in resp.headers["Content-Security-Policy"]
            html = await resp.text()
            assert html.replace("\r\n", "\n") == sent.get_body(("html",)).get_content().replace("\r\n", "\n")
        async with session.get(f"{stack.agent_url}/api/mail") as resp:
            payload = await resp.json()
            assert payload["counts"]["sent"] == 1 and len(payload["mails"]) == 3


async def test_resend_refuses_cross_site_posts(scenario: tuple[Stack, ManualClock, Server, dict[str, int]]) -> None:
    stack, _, _, orders = scenario
    failed = await mail_of(stack, orders["refused"])
    url = f"{stack.agent_url}/mail/{failed.reference}/resend"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, headers={"Origin": "http://evil.example"}, allow_redirects=False) as resp:
            assert resp.status == 403
        assert (await mail_of(stack, orders["refused"])).state == "failed"
        async with session.post(url, headers={"Origin": stack.agent_url}, allow_redirects=False) as resp:
            assert resp.status == 303
        assert (await mail_of(stack, orders["refused"])).state == "queued"
        async with session.post(url, headers={"Origin": stack.agent_url}, allow_redirects=False) as resp:
            assert resp.status == 409  # queued already: nothing to resend


async def test_a_template_error_is_reported_at_start_and_mail_waits(tmp_path: Path) -> None:
    own = tmp_path / "tpl" / "en"
    own.mkdir(parents=True)
    (own / "invoice.html").write_text("<p>{{ invoice.numbr }}</p>\n")
    clock = ManualClock()
    async with smtp_server() as server:
        settings = mail_settings(server.port, templates_dir=str(tmp_path / "tpl"))
        async with demo_stack(tmp_path / "stack", delivery_delay=0.0, clock=clock, autostart=False,
                              overrides={"mail": settings}) as stack:  # fmt: skip
            assert "en/invoice.html" in (mail_worker(stack).template_error or "")
            await place_orders(stack, 1)
            await drive(stack, clock)
            assert server.recorder.received == []
            assert [m.state for m in await MailJournal(stack.app[JOURNAL]).recent()] == ["queued"]
            async with aiohttp.ClientSession() as session, session.get(f"{stack.agent_url}/mail") as resp:
                assert re.search(r"Template error: .*en/invoice.html", await resp.text())
