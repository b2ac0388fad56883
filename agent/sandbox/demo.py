"""``dynaccount-agent demo``: the agent against the built-in WooCommerce and Dynaccount sandboxes.

Everything runs on loopback in one process: the Dynaccount sandbox, the WooCommerce sandbox, and the
agent with a generated configuration. The agent registers its webhooks through the shop's REST API
like a real installation; the demo then places a stream of varied orders and refunds through the
same REST calls a shop's checkout and admin would make, and checks the books at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from agent.app import JOURNAL, SERVICES, Services, create_app, open_woo
from agent.clock import Clock
from agent.config import Config, parse_config
from agent.dynaccount.errors import DynaccountError
from agent.sandbox.books_check import creditnote_vat_problems, invoice_vat_problems
from agent.sandbox.demo_catalog import CATALOG, print_catalog, shop_owner_edits
from agent.sandbox.demo_orders import REFUNDED_BEFORE_SEEN, SHAPES, RefundSpec, order_payloads, refund_payload
from agent.sandbox.demo_stock import print_stock, receive_goods, verify_stock
from agent.sandbox.dynaccount.faults import FaultConfig
from agent.sandbox.dynaccount.server import SandboxConfig, SandboxHandle, running_sandbox
from agent.sandbox.ports import free_port
from agent.sandbox.woo import WooSandbox, running_woo_sandbox
from agent.woo.client import WooClient

if TYPE_CHECKING:
    from agent.sandbox.mailcatcher import Catcher, CatcherHandle

log = logging.getLogger(__name__)
DEMO_DIR = Path("data/demo")
WEBHOOK_SECRET = "demo-webhook-secret-0123456789"
CK, CS = "ck_demo_0123456789", "cs_demo_0123456789"


def stack_config(directory: Path, *, agent_port: int, woo_url: str, dyn_url: str,
                 overrides: dict[str, dict[str, Any]] | None = None) -> Config:  # fmt: skip
    raw: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": agent_port},
        "journal": {"path": str(directory / "agent.sqlite3"), "synchronous": "NORMAL"},
        "woocommerce": {
            "url": woo_url.rstrip("/"), "consumer_key": CK, "consumer_secret": CS, "webhook_secret": WEBHOOK_SECRET,
            "webhook_url": f"http://127.0.0.1:{agent_port}/webhooks/woocommerce",
        },
        "dynaccount": {
            "api_id": 12345, "api_key": "0123456789abcdef0123456789abcdef01234567",
            "api_secret": "fedcba9876543210fedcba9876543210fedcba98", "base_url": dyn_url.rstrip("/"),
        },
        "worker": {"concurrency": 4, "poll_seconds": 0.2, "backoff_base_seconds": 0.2, "backoff_cap_seconds": 2.0,
                   "max_attempts": 50},
        "sweep": {"interval_seconds": 5.0, "overlap_seconds": 5.0, "lookback_hours": 1.0},
        "stock": {"interval_seconds": 10.0, "after_booking_seconds": 0.5},
        "shop": {"name": "woo"},  # references read woo/order-17
    }  # fmt: skip
    for table, values in (overrides or {}).items():
        raw.setdefault(table, {}).update(values)
    return parse_config(raw, source="demo")


@dataclass
class Stack:
    config: Config
    app: web.Application
    woo: WooSandbox
    dyn: SandboxHandle
    shop: WooClient  # drives the shop like its checkout/admin would
    agent_url: str
    refunds: dict[int, Decimal] = field(default_factory=dict)  # refund id -> amount, as the shop stored it

    @property
    def services(self) -> Services:
        return self.app[SERVICES]


@contextlib.asynccontextmanager
async def demo_stack(
    directory: Path,
    *,
    agent_port: int = 0,
    faults: FaultConfig | None = None,
    delivery_delay: float = 0.05,
    clock: Clock | None = None,
    autostart: bool = True,
    overrides: dict[str, dict[str, Any]] | None = None,
    dynaccount: SandboxHandle | None = None,
    load_references: bool = True,
) -> AsyncIterator[Stack]:
    """``dynaccount``: a running Dynaccount sandbox to share (several shops, one company). Without
    ``autostart`` the reference index is loaded before the stack is handed over (``load_references``), as
    the daemon's background load would have finished; with it, the daemon loads it in the background."""
    port = agent_port or free_port()
    async with contextlib.AsyncExitStack() as exits:
        dyn = dynaccount if dynaccount is not None else await exits.enter_async_context(
            running_sandbox(SandboxConfig(faults=faults or FaultConfig())))
        woo = await exits.enter_async_context(running_woo_sandbox(CK, CS, delivery_delay=delivery_delay))
        config = stack_config(directory, agent_port=port, woo_url=woo.base_url, dyn_url=dyn.base_url,
                              overrides=overrides)  # fmt: skip
        async with open_woo(config) as shop:
            app = create_app(config, clock=clock, autostart=autostart)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            stack = Stack(config, app, woo, dyn, shop, f"http://127.0.0.1:{port}")
            try:
                await stack.services.sweep.heal_webhooks()
                await woo.wait_idle()  # the creation pings
                if load_references and not autostart:
                    await _load_references(stack)
                yield stack
            finally:
                await runner.cleanup()


async def _load_references(stack: Stack) -> None:
    """The index loaded as the daemon's background task would, through injected faults (a failed page is read
    again; a load that never completes leaves the index incomplete: real look-ups, as while it loads)."""
    references = stack.services.references
    for _ in range(20):
        if references is None or references.complete:
            return
        with contextlib.suppress(DynaccountError):
            await references.load()


async def place_orders(stack: Stack, count: int, *, seed: int = 7) -> list[int]:
    ids = []
    for payload in order_payloads(count, seed=seed):
        order = await stack.shop.create_order(payload)
        ids.append(order.id)
    return ids


async def place_refunded_before_seen(stack: Stack, count: int = len(REFUNDED_BEFORE_SEEN), *,
                                     seed: int = 11) -> list[int]:  # fmt: skip
    """Orders paid and refunded in full while the agent hears nothing (webhooks held back, as during
    downtime): it first sees them refunded, and must invoice them as sold and then credit them."""
    ids = []
    stack.woo.hold()
    try:
        for payload in order_payloads(count, seed=seed, shapes=REFUNDED_BEFORE_SEEN):
            order = await stack.shop.create_order(payload)
            for body in refund_payload(order, "full"):
                refund = await stack.shop.create_refund(order.id, body)
                stack.refunds[refund.id] = refund.amount
            ids.append(order.id)
    finally:
        stack.woo.release()
    return ids


async def refund_some(stack: Stack, order_ids: list[int], specs: dict[int, RefundSpec]) -> int:
    """Refund the orders named in ``specs`` (by position) once their invoice is booked."""
    done = 0
    for position, spec in specs.items():
        if position >= len(order_ids):
            continue
        order = await stack.shop.get_order(order_ids[position])
        for payload in refund_payload(order, spec):
            refund = await stack.shop.create_refund(order.id, payload)
            stack.refunds[refund.id] = refund.amount
            done += 1
    return done


async def settle(stack: Stack, *, limit: float = 120.0, step: Callable[[], None] | None = None) -> None:
    """Wait until the shop delivered everything and the agent has no pending or running work."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        await stack.woo.wait_idle()
        counts = await stack.app[JOURNAL].counts()
        if counts.work["pending"] == 0 and counts.work["running"] == 0:
            return
        if step is not None:
            step()
        stack.services.worker.wake()
        await asyncio.sleep(0.05)
    raise TimeoutError("the agent did not settle in time")


@dataclass
class Verdict:
    orders: int
    invoiced: int
    booked: int
    matched: int
    duplicates: int
    missing: list[int]
    mismatched: list[str]
    creditnotes: int
    refunds: int
    overcredited: list[str]
    mails: int = 0  # caught by the demo's SMTP catcher
    mails_expected: int = 0  # booked invoices the mail rules send
    mail_duplicates: int = 0
    vat_checked: int = 0  # documents whose VAT per code was compared with WooCommerce's tax lines
    vat_mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.duplicates or self.overcredited or self.vat_mismatched
                    ) and self.creditnotes == self.refunds and self.mails == self.mails_expected \
            and not self.mail_duplicates  # fmt: skip


async def verify(stack: Stack, order_ids: list[int]) -> Verdict:
    """Compare the shop with the books: one invoice per triggered order, totals to the øre."""
    docs = stack.dyn.store
    # the webshop's documents only: file orders are checked against their files (demo_files.verify_files)
    invoices, notes = ([docs.render(t, row) for row in docs.tables[t].values()
                        if not str(row.get("requisition")).startswith(f"{stack.config.shop.name}/file-")]
                       for t in ("debtor_invoice", "debtor_creditnote"))  # fmt: skip
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for inv in invoices:
        by_ref.setdefault(str(inv.get("requisition")), []).append(inv)
    triggers = set(stack.config.triggers.order_statuses)
    missing, mismatched, matched, booked = [], [], 0, 0
    for order_id in order_ids:
        order = await stack.shop.get_order(order_id)
        found = by_ref.get(f"{stack.config.shop.name}/order-{order_id}", [])
        if order.status not in triggers and not found:
            continue
        if not found:
            missing.append(order_id)
            continue
        inv = found[0]
        booked += str(inv.get("is_booked")).upper() in ("YES", "TRUE", "1")
        net_refunds = Decimal(0)
        if Decimal(str(inv["total_amount"])) == order.total - net_refunds:
            matched += 1
        else:
            mismatched.append(f"order {order_id}: invoice {inv['total_amount']} vs WooCommerce {order.total}")
    duplicates = sum(len(v) - 1 for v in by_ref.values() if len(v) > 1)
    refund_refs = [str(n.get("requisition")) for n in notes]
    duplicates += len(refund_refs) - len(set(refund_refs))
    note_totals = {str(n.get("requisition")): Decimal(str(n["total_amount"])) for n in notes}
    for refund_id, amount in stack.refunds.items():
        got = note_totals.get(f"{stack.config.shop.name}/refund-{refund_id}")
        if got is None:
            missing.append(-refund_id)
        elif got != amount:
            mismatched.append(f"refund {refund_id}: credit note {got} vs refund {amount}")
    credited: dict[Any, Decimal] = {}
    for note in notes:
        credited[note["invoice_id"]] = credited.get(note["invoice_id"], Decimal(0)) + Decimal(str(note["total_amount"]))
    totals = {inv["id"]: Decimal(str(inv["total_amount"])) for inv in invoices}
    over = [f"invoice id {k}: credited {v} > {totals[k]}" for k, v in credited.items() if v > totals.get(k, v)]
    checked, vat_problems = await vat_per_code(stack, order_ids)
    return Verdict(len(order_ids), len(by_ref), booked, matched, duplicates, missing, mismatched, len(notes),
                   len(stack.refunds), over, vat_checked=checked, vat_mismatched=vat_problems)  # fmt: skip


async def vat_per_code(stack: Stack, order_ids: list[int]) -> tuple[int, list[str]]:
    """VAT per code of every invoice and credit note against WooCommerce's tax lines (books_check)."""
    store, settings = stack.dyn.store, stack.config.plan
    checked, problems = 0, []
    for order_id in order_ids:
        invoice = store.find("debtor_invoice", "requisition", f"{stack.config.shop.name}/order-{order_id}")
        if invoice is None:
            continue
        order = await stack.shop.get_order(order_id)
        problems += invoice_vat_problems(store, invoice, order, settings.vat)
        checked += 1
        for refund in await stack.shop.list_refunds(order_id) if order.refunds else []:
            note = store.find("debtor_creditnote", "requisition", f"{stack.config.shop.name}/refund-{refund.id}")
            if note is not None:
                problems += creditnote_vat_problems(store, note, refund, order, invoice["total_amount"], settings)
                checked += 1
    return checked, problems


def print_verdict(v: Verdict) -> None:
    print(f"orders placed:       {v.orders}")
    print(f"invoices:            {v.invoiced} ({v.booked} booked), totals matched {v.matched}")
    print(f"credit notes:        {v.creditnotes} for {v.refunds} refunds")
    print(f"VAT per code:        {v.vat_checked} documents checked against WooCommerce's tax lines")
    print(f"duplicates:          {v.duplicates}")
    print(f"invoice mails:       {v.mails} caught for {v.mails_expected} booked invoices to mail"
          + (f", {v.mail_duplicates} DUPLICATES" if v.mail_duplicates else ""))
    for n in v.missing:
        print(f"MISSING credit note for refund {-n}" if n < 0 else f"MISSING invoice for order {n}")
    for line in v.mismatched + v.overcredited + v.vat_mismatched:
        print(f"MISMATCH {line}")
    print("result:              " + ("everything as expected" if v.ok else "PROBLEMS (see above)"))


async def print_reconciliation(stack: Stack) -> bool:
    """The books beside the shop for today, and this quarter's OSS figures, as the page shows them."""
    from agent.reconcile import Period, open_gatherer
    from agent.reconcile.oss import to_table

    gatherer = await open_gatherer(stack.services.woo, stack.services.dyn, stack.config.plan, stack.services.journal)
    tz = ZoneInfo(stack.config.server.timezone)
    today = datetime.now(tz).date()
    report = await gatherer.report(Period(today, today + timedelta(days=1), tz))
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    print("reconciliation:      " + ("everything agrees" if report.ok else f"{len(report.differences)} difference(s)")
          + f"  ({stack.agent_url}/reconcile)")  # fmt: skip
    for difference in report.differences:
        print(f"DIFFERENCE {difference.message}")
    print(to_table(await gatherer.oss(quarter, tz)))
    return report.ok


DEFAULT_REFUNDS: dict[int, RefundSpec] = {1: "line", 4: "amount", 6: "shipping", 8: "full", 11: "partial_qty",
                                          16: "line", 18: "restocking", 19: "full", 21: "shipping"}


async def count_mails(stack: Stack, catcher: Catcher, verdict: Verdict, *, limit: float = 30.0) -> Verdict:
    """Wait for the outbox to empty, then count what the catcher got against what should be mailed."""
    from agent.journal.mail import MailJournal

    outbox = MailJournal(stack.app[JOURNAL])
    for _ in range(int(limit / 0.1)):
        if not (await outbox.counts())["queued"]:
            break
        await asyncio.sleep(0.1)  # the mail worker runs on its own; this only waits to count
    ids = catcher.message_ids()
    verdict.mails, verdict.mail_duplicates = len(ids), len(ids) - len(set(ids))
    verdict.mails_expected = len([m for m in await outbox.recent(limit=100_000) if m.kind == "invoice"
                                  and m.state != "skipped"])  # fmt: skip
    return verdict


def mail_settings(smtp_port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from_address": "shop@example.dk",
            "from_name": "Demo Kaffe", "shop_name": "Demo Kaffe", "poll_seconds": 0.2}  # fmt: skip


async def _run(args: argparse.Namespace) -> int:
    from agent.sandbox.mailcatcher import running_catcher

    async with running_catcher() as catcher:
        return await _run_stack(args, catcher)


async def _run_stack(args: argparse.Namespace, catcher: CatcherHandle) -> int:
    count = args.orders or len(SHAPES)
    from agent.sandbox.demo_files import files_overrides, import_examples, print_files, verify_files

    overrides = {"mail": mail_settings(catcher.smtp_port), "files": files_overrides(), **CATALOG}
    async with demo_stack(DEMO_DIR, agent_port=args.port, overrides=overrides) as stack:
        print(f"demo: status page {stack.agent_url}/  (JSON: {stack.agent_url}/api/status)")
        print(f"demo: WooCommerce sandbox {stack.woo.base_url}  Dynaccount sandbox {stack.dyn.base_url}")
        print(f"demo: mail caught by the demo's SMTP server: {catcher.page_url}")
        placed = await place_orders(stack, count)
        ids = placed + await place_refunded_before_seen(stack)
        print(f"demo: placed {len(ids)} orders (some refunded before the agent saw them); waiting for the agent …")
        await settle(stack)
        refunds = await refund_some(stack, placed, DEFAULT_REFUNDS)  # the others are refunded in full already
        print(f"demo: refunded {refunds} times; waiting for the credit notes …")
        await settle(stack)
        verdict = await count_mails(stack, catcher.catcher, await verify(stack, ids))
        print_verdict(verdict)
        await receive_goods(stack)  # Dynaccount's stock moves; the shop follows
        await settle(stack)
        stock = verify_stock(stack)
        print_stock(stock)
        catalog = await shop_owner_edits(stack, lambda: settle(stack))  # products and customers, no sale
        print_catalog(catalog)
        print("demo: importing the example files (contrib/files/) next to the webshop orders …")
        await import_examples(stack)
        await settle(stack)
        files = await verify_files(stack)
        print_files(files)
        agrees = await print_reconciliation(stack)
        if args.exit:
            return 0 if verdict.ok and stock.ok and files.ok and catalog.ok and agrees else 1
        print("demo: still serving; Ctrl-C to stop")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0


def run_demo(args: argparse.Namespace) -> int:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for stale in DEMO_DIR.glob("agent.sqlite3*"):
        stale.unlink()  # every demo starts from empty books, like its sandboxes
    return asyncio.run(_run(args))
