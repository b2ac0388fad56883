"""The sandboxes as child processes (agent.sandbox.processes) and what a checker in another process reads of
the Dynaccount sandbox over HTTP: its whole store (``/_sandbox/state``) and its request log (``/_sandbox/calls``)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from agent.dynaccount import assumptions as A
from agent.dynaccount.client import DynaccountClient
from agent.sandbox.books_check import booked_vat
from agent.sandbox.dynaccount.server import SandboxHandle
from agent.sandbox.processes import dynaccount_calls, dynaccount_process, dynaccount_store, woocommerce_process

from .conftest import API_ID, API_KEY, API_SECRET, header, lines, make_debtor


async def test_store_and_request_log_read_over_http(sandbox: SandboxHandle, client: DynaccountClient,
                                                    session: aiohttp.ClientSession) -> None:  # fmt: skip
    await make_debtor(client)
    invoice = await client.create_invoice(header(), lines(), "woo/order-60")
    await client.book_invoice(invoice.id)
    copy = await dynaccount_store(session, sandbox.base_url)
    assert copy.tables == sandbox.store.tables and copy.next_number == sandbox.store.next_number == 1002
    booked = booked_vat(copy, A.INVOICE_LINE_TABLE, "invoice_id", invoice.id)
    assert booked and booked == booked_vat(sandbox.store, A.INVOICE_LINE_TABLE, "invoice_id", invoice.id)
    found = copy.find(A.INVOICE_TABLE, "requisition", "woo/order-60")
    assert found is not None and found["total_amount"] == sandbox.store.row(A.INVOICE_TABLE, invoice.id)["total_amount"]
    calls = await dynaccount_calls(session, sandbox.base_url)
    assert calls == sandbox.calls and calls["put/debtor"] == 1 and calls["action/book_debtor_invoice"] == 1


async def test_sandboxes_run_as_child_processes(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    async with (dynaccount_process(tmp_path / "dyn.log", latency_ms=0) as dyn,
                woocommerce_process(tmp_path / "woo.log", "ck_test", "cs_test") as woo):  # fmt: skip
        assert dyn.pid != woo.pid
        client = DynaccountClient(session, base_url=dyn.urls[0], api_id=API_ID, api_key=API_KEY, api_secret=API_SECRET)
        await make_debtor(client)
        assert (await dynaccount_calls(session, dyn.urls[0]))["put/debtor"] == 1
        assert (await dynaccount_store(session, dyn.urls[0])).find("debtor", "module_id_", "1001") is not None
        async with session.get(f"{woo.urls[0]}/wp-json/wc/v3/orders") as resp:
            assert resp.status == 401  # the shop's REST API, keys checked
        async with session.get(f"{woo.urls[0]}/__sandbox/") as resp:
            assert (await resp.json())["orders"] == []
        assert dyn.cpu_seconds() > 0 and woo.cpu_seconds() > 0
    assert dyn.process.returncode is not None and woo.process.returncode is not None
