"""One-off commands: plan (dry run), replay, import, webhooks. They reuse the daemon's parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import aiohttp

from agent.app import build_clients, build_processor
from agent.clock import SystemClock
from agent.config import Config
from agent.dynaccount.client import DynaccountClient
from agent.importer import Importer, Progress, terminal_progress
from agent.journal import Journal
from agent.orders import OrderProcessor, classify
from agent.plan import CreditNoteContext, Skip, plan_creditnote, render_plan
from agent.sweep import Sweep
from agent.woo.client import WooClient
from agent.worker import Worker

if TYPE_CHECKING:
    from agent.reconcile import OssReport, Report

log = logging.getLogger(__name__)


@dataclass
class Parts:
    config: Config
    journal: Journal
    woo: WooClient
    dyn: DynaccountClient
    orders: OrderProcessor


@contextlib.asynccontextmanager
async def parts(config: Config) -> AsyncIterator[Parts]:
    clock = SystemClock()
    journal = await Journal.open(config.journal.path, synchronous=config.journal.synchronous, clock=clock)
    try:
        async with aiohttp.ClientSession() as woo_session, aiohttp.ClientSession() as dyn_session:
            woo, dyn = build_clients(config, woo_session, dyn_session)
            yield Parts(config, journal, woo, dyn, build_processor(config, journal, woo, dyn, clock))
    finally:
        await journal.close()


async def agent_running(config: Config) -> bool:
    url = f"http://{config.server.host}:{config.server.port}/healthz"
    try:
        async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def show_plan(config: Config, order_id: int) -> str:
    """What the agent would do with the order now, without writing anything anywhere."""
    async with parts(config) as p:
        order = await p.woo.get_order(order_id)
        refunds = sorted(await p.woo.list_refunds(order_id), key=lambda r: r.id) if order.refunds else []
        out = [render_plan(await p.orders.plan(order, refunds))]
        link = await p.journal.get_link("order", order_id)
        if link is None or link.state != "booked" or not link.dyn_id:
            if refunds:
                out.append(f"{len(refunds)} refund(s): credit notes are planned once the invoice is booked")
            return "\n\n".join(out)
        invoice = await p.dyn.get_invoice(int(link.dyn_id))
        state = await p.orders.invoice_state(order_id, invoice)
        for refund in refunds:
            credited = await p.journal.get_link("refund", refund.id)
            plan = plan_creditnote(order, refund, config.plan,
                                   CreditNoteContext(invoice=state, already_credited=credited is not None))  # fmt: skip
            out.append(render_plan(plan))
        return "\n\n".join(out)


async def process_now(p: Parts, keys: list[str]) -> dict[str, str]:
    """Run the given work items once in this process; returns key -> resulting state."""
    worker = Worker(p.journal, p.orders, p.config.worker, SystemClock(), classify=classify)
    await p.journal.reset_running()
    results = {}
    for key in keys:
        await p.journal.requeue(key)
        await worker.run_once()
        item = await p.journal.get_work(key)
        results[key] = f"{item.state}: {item.reason or item.error or ''}" if item else "missing"
    return results


async def replay(config: Config, order_id: int) -> str:
    key = f"order:{order_id}"
    if await agent_running(config):
        async with parts(config) as p:
            await p.journal.requeue(key)
            await p.journal.add_event(key, "replay requested from the command line")
        return f"{key} queued; the running agent picks it up now"
    async with parts(config) as p:
        await p.journal.add_event(key, "replayed from the command line")
        return "\n".join(f"{k} -> {v}" for k, v in (await process_now(p, [key])).items())


async def import_orders(config: Config, since: datetime, until: datetime | None, dry_run: bool,
                        progress: Callable[[int, int], Progress] = terminal_progress) -> str:  # fmt: skip
    """Historic orders (created in [since, until)) become work; with --dry-run only plans are shown."""
    async with parts(config) as p:
        ids = [o.id async for o in p.woo.iter_orders(after=since, before=until, dates_are_gmt=True,
                                                      orderby="date", order="asc")]  # fmt: skip
        if dry_run:
            lines = [f"{len(ids)} orders from {since:%Y-%m-%d}:"]
            for order_id in ids:
                order = await p.woo.get_order(order_id)
                plan = await p.orders.plan(order, [])
                what = plan.reason if isinstance(plan, Skip) else f"invoice {plan.totals.total} {plan.currency}"
                lines.append(f"  order {order_id}: {what}")
            return "\n".join(lines)
        importer = Importer(p.journal)
        period = (f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}" if until else None)
        if await agent_running(config):
            await importer.queue(*period, ids)
            return f"{len(ids)} orders queued; the running agent processes them"
        await p.journal.reset_running()
        worker = Worker(p.journal, p.orders, p.config.worker, SystemClock(), classify=classify)

        async def one(key: str) -> str:
            await p.journal.requeue(key)
            await worker.run_once()
            item = await p.journal.get_work(key)
            return item.state if item else "missing"

        try:
            return (await importer.run(*period, ids, one, progress)).summary()
        except asyncio.CancelledError:
            state = await importer.state()
            print(state.summary() if state else "import interrupted", file=sys.stderr)
            raise


async def webhooks(config: Config, heal: bool) -> str:
    async with parts(config) as p:
        lines = [f"{w.id:>5} {w.status:<9} {w.topic:<40} {w.delivery_url}" for w in await p.woo.list_webhooks()]
        if heal:
            if not config.woocommerce.webhook_url:
                return "set [woocommerce] webhook_url to let the agent manage its webhooks"
            sweep = Sweep(p.journal, p.woo, SystemClock(), interval=0, overlap=0, lookback=0,
                          webhook_url=config.woocommerce.webhook_url,
                          webhook_secret=config.woocommerce.webhook_secret.get_secret_value())  # fmt: skip
            report = await sweep.heal_webhooks()
            lines.append(f"created {report.created or 'none'}, re-activated {report.reactivated or 'none'}, "
                         f"healthy {report.healthy or 'none'}")  # fmt: skip
        return "\n".join(lines) or "no webhooks"


async def reconcile(config: Config, start: date, end: date) -> Report:
    """The books beside the shop for [start, end)."""
    from agent.reconcile import Gatherer, Period

    async with parts(config) as p:
        return await Gatherer(p.woo, p.dyn, config.plan).report(Period(start, end))


async def oss(config: Config, quarter: str) -> OssReport:
    from agent.reconcile import Gatherer

    async with parts(config) as p:
        return await Gatherer(p.woo, p.dyn, config.plan).oss(quarter)


async def held(config: Config) -> str:
    """The approval queue as text: each held item, why, and what would be booked."""
    from agent.approvals import Approvals

    async with parts(config) as p:
        items = await Approvals(p.journal).held()
    if not items:
        return "nothing is held"
    lines = []
    for item in items:
        plan = item.plan or {}
        total = plan.get("totals", {}).get("total")
        what = f"invoice {total} {plan.get('currency', '')}".strip() if item.approvable else "nothing to book yet"
        lines.append(f"{item.key}: {what}\n    held: {item.reason}")
    return "\n".join(lines)


async def decide(config: Config, action: str, order_id: int, by: str, *, reason: str = "",
                 mappings: list[str] | None = None) -> str:  # fmt: skip
    """approve | dismiss | replan one held order; processed here unless the agent is running."""
    from agent.approvals import Approvals

    key = f"order:{order_id}"
    async with parts(config) as p:
        approvals = Approvals(p.journal)
        if action == "approve":
            await approvals.approve(key, by)
        elif action == "dismiss":
            await approvals.dismiss(key, by, reason)
        else:
            await approvals.replan(key, by, mappings or [])
        if await agent_running(config):
            return f"{key}: {action} recorded; the running agent acts on it now"
        return "\n".join(f"{k} -> {v}" for k, v in (await process_now(p, [key])).items())


def parse_day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
