"""The status page's upload form in a real headless Chromium: a file chosen in the file input and the
Import button clicked with a real mouse event, so the post carries the browser's own Origin."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import aiohttp

from agent.app import JOURNAL
from agent.clock import ManualClock
from agent.sandbox.demo import Stack

from ..e2e.conftest import drive  # type: ignore[import-not-found]
from ..test_status_page import Page, browser_page, dump_dom, needs_chromium  # type: ignore[import-not-found]
from .conftest import CONTRIB, counts, creditnotes, invoice  # type: ignore[import-not-found]
from .test_files_e2e import BROKEN  # type: ignore[import-not-found]


async def upload(page: Page, base: str, path: Path, mapping: str, *, dry_run: bool = False) -> str:
    """Choose ``path`` in the form on /, pick the mapping, click Import; returns the result page's text."""
    await page.send("Page.navigate", url=f"{base}/")
    await page.wait_for("document.readyState === 'complete' && document.querySelector('#upload-file') !== null")
    doc = await page.send("DOM.getDocument")
    node = await page.send("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#upload-file")
    await page.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])
    await page.js(f"document.querySelector('#upload-mapping').value = {mapping!r}")
    if dry_run:
        await page.click("#upload-dry-run")
    await page.click("#upload-submit")
    await page.wait_for("location.pathname === '/files/upload' && document.readyState === 'complete'"
                        " && document.querySelector('#summary, #refused') !== null")  # fmt: skip
    return str(await page.js("document.querySelector('section.file-import').innerText"))


@needs_chromium
async def test_upload_form_books_csv_and_xml_recognises_a_reupload_and_lists_bad_rows(
    fstack: tuple[Stack, ManualClock], tmp_path: Path
) -> None:
    s, clock = fstack
    broken = tmp_path / "broken.csv"
    broken.write_text(BROKEN, encoding="utf-8")
    async with browser_page(tmp_path, f"{s.agent_url}/") as page:
        text = await upload(page, s.agent_url, CONTRIB / "orders.csv", "pos")
        assert "orders.csv: 4 new; 0 bad row(s)" in text, text
        await drive(s, clock)
        assert invoice(s, "woo/file-pos-1001")["total"] == Decimal("416.10")
        assert invoice(s, "woo/file-pos-1002")["by_code"] == {"OSS-DE-19": Decimal("50.73")}
        assert creditnotes(s, invoice(s, "woo/file-pos-1004")["id"]) == [Decimal("99.00")]
        books = counts(s)
        text = await upload(page, s.agent_url, CONTRIB / "orders.csv", "pos")
        assert "The same bytes were imported before as file #1" in text, text
        text = await upload(page, s.agent_url, CONTRIB / "orders.xml", "market")
        assert "2 new" in text, text
        text = await upload(page, s.agent_url, broken, "pos", dry_run=True)
        assert "dry run, nothing written" in text and "woo/file-pos-2001" in text, text
        text = await upload(page, s.agent_url, broken, "pos")
        lines = await page.js("[...document.querySelectorAll('tr.row-error')].map(r => r.dataset.line).join(',')")
        assert lines == "3,4,5,6,7", text
        assert "unknown VAT rate 17 % for DK" in text and "not a number: 'to'" in text
        text = await upload(page, s.agent_url, CONTRIB / "mappings.toml", "pos")
        assert "Refused:" in text, text
    await drive(s, clock)
    assert counts(s)[0] == books[0] + 2 + 2  # the XML's two orders and the broken file's two good ones
    assert invoice(s, "woo/file-market-X-2001")["total"] == Decimal("446.00")
    # the overview lists the imports, and the item page shows a file order's invoice
    dom = await dump_dom(tmp_path, f"{s.agent_url}/")
    assert re.search(r"#1 orders\.csv \(uploaded 2 times\)", dom), dom[-3000:]
    item = await dump_dom(tmp_path, f"{s.agent_url}/work/file:pos:1001")
    assert "woo/file-pos-1001" in item and "Invoice" in item


async def test_upload_refuses_cross_site_posts(fstack: tuple[Stack, ManualClock]) -> None:
    s, _ = fstack
    form = aiohttp.FormData()
    form.add_field("file", (CONTRIB / "orders.csv").read_bytes(), filename="orders.csv")
    async with aiohttp.ClientSession() as session, session.post(
        f"{s.agent_url}/files/upload", data=form, headers={"Origin": "http://evil.example"}
    ) as resp:
        assert resp.status == 403
    assert await s.app[JOURNAL].db.read("SELECT * FROM import_files") == []


async def test_oversized_upload_is_refused_with_a_message(fstack: tuple[Stack, ManualClock]) -> None:
    s, _ = fstack
    form = aiohttp.FormData()
    form.add_field("file", b"Ordrenr;Antal;Stykpris\n" + b"1;1;1\n" * 200_000, filename="big.csv")
    async with aiohttp.ClientSession() as session, session.post(f"{s.agent_url}/files/upload", data=form,
                                                                headers={"Origin": s.agent_url}) as resp:  # fmt: skip
        assert resp.status == 200 and "larger than files.max_bytes" in await resp.text()
    assert await s.app[JOURNAL].db.read("SELECT * FROM import_files") == []


async def test_a_failed_file_order_can_be_retried_from_the_page(fstack: tuple[Stack, ManualClock]) -> None:
    s, clock = fstack
    # Dynaccount refuses (a permanent error): transient ones are retried for ever and never end failed
    s.dyn.faults.force("400", times=10_000)
    assert s.services.files is not None
    report = await s.services.files.run((CONTRIB / "orders.xml").read_bytes(), "orders.xml", "market", dry_run=False)
    key = report.keys[0]
    for _ in range(s.config.worker.max_attempts * (len(report.keys) + 1)):
        await s.services.worker.run_once()
        clock.advance(s.config.worker.backoff_cap_seconds + 1)
        item = await s.app[JOURNAL].get_work(key)
        if item is not None and item.state == "failed":
            break
    item = await s.app[JOURNAL].get_work(key)
    assert item is not None and item.state == "failed", item
    s.dyn.faults.clear()
    s.dyn.faults.forced.clear()
    async with aiohttp.ClientSession() as session, session.post(
        f"{s.agent_url}/work/{key}/retry", data={"next": "/"}, headers={"Origin": s.agent_url}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
    await drive(s, clock)
    assert invoice(s, "woo/file-market-X-2001")["total"] == Decimal("446.00")
