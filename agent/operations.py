"""One-off commands: plan (dry run), replay, import, webhooks, stock sync, reconcile/OSS, the approval queue.

Each runs over the services the composition root built (``agent.app.open_command``, exactly as the
daemon builds them); ``daemon_running`` says whether a daemon owns the journal (``agent.journal.owner``),
in which case work is only handed to it through the journal: its running items are never reset and no
second worker runs (no two processes work on one order).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from agent.approvals import Approvals
from agent.importer import UNCHANGED, Importer, Progress, terminal_progress
from agent.journal.stock import StockJournal
from agent.plan import CreditNoteContext, Skip, plan_creditnote, render_plan
from agent.reconcile import OssReport, Period, Report, open_gatherer
from agent.services import Services
from agent.stock.room import StockRoom
from agent.woo.fingerprint import order_fingerprint

log = logging.getLogger(__name__)


async def show_plan(agent: Services, order_id: int) -> str:
    """What the agent would do with the order now, without writing anything anywhere."""
    order = await agent.woo.get_order(order_id)
    refunds = sorted(await agent.woo.list_refunds(order_id), key=lambda r: r.id) if order.refunds else []
    facts = await agent.journal.order_facts(order_id)
    out = [render_plan(await agent.orders.plan_checked(order, refunds, facts))]
    link = facts.invoice
    if link is None or link.state != "booked" or not link.dyn_id:
        if refunds:
            out.append(f"{len(refunds)} refund(s): credit notes are planned once the invoice is booked")
        return "\n\n".join(out)
    invoice = await agent.orders.applier.get_invoice(int(link.dyn_id))
    state = agent.orders.invoice_state(facts, invoice)
    for refund in refunds:
        credited = facts.refunds.get(refund.id)
        plan = plan_creditnote(order, refund, agent.config.plan,
                               CreditNoteContext(invoice=state, already_credited=credited is not None))  # fmt: skip
        out.append(render_plan(plan))
    return "\n\n".join(out)


async def process_now(agent: Services, keys: list[str]) -> dict[str, str]:
    """Run the given work items once in this process, which owns the journal (no daemon does: items
    left running are a dead process's); returns key -> resulting state."""
    await agent.journal.reset_running()
    results = {}
    for key in keys:
        await agent.journal.requeue(key, create=True)
        await agent.worker.run_once()
        item = await agent.journal.get_work(key)
        results[key] = f"{item.state}: {item.reason or item.error or ''}" if item else "missing"
    return results


async def replay(agent: Services, order_id: int, *, daemon_running: bool) -> str:
    key = f"order:{order_id}"
    if daemon_running:
        await agent.journal.requeue(key, create=True)
        await agent.journal.add_event(key, "replay requested from the command line")
        return f"{key} queued; the running agent picks it up now"
    await agent.journal.add_event(key, "replayed from the command line")
    return "\n".join(f"{k} -> {v}" for k, v in (await process_now(agent, [key])).items())


async def import_orders(
    agent: Services, since: datetime, until: datetime | None, dry_run: bool, *, daemon_running: bool,
    progress: Callable[[int, int], Progress] = terminal_progress,
) -> str:
    """Historic orders (created in [since, until)) become work; with --dry-run only plans are shown.

    Processed here with progress (resumable after an interruption) unless a running agent does the work."""
    # One list call per page is all a re-run over the same period costs: each order's fingerprint as
    # the list shows it decides whether it changed since the agent last acted on it.
    listed = {o.id: order_fingerprint(o) async for o in agent.woo.iter_orders(
        after=since, before=until, dates_are_gmt=True, orderby="date", order="asc")}  # fmt: skip
    ids = list(listed)
    if dry_run:
        lines = [f"{len(ids)} orders from {since:%Y-%m-%d}:"]
        for order_id in ids:
            order = await agent.woo.get_order(order_id)
            plan = agent.orders.plan(order, [], await agent.journal.order_facts(order_id))
            what = plan.reason if isinstance(plan, Skip) else f"invoice {plan.totals.total} {plan.currency}"
            lines.append(f"  order {order_id}: {what}")
        return "\n".join(lines)
    importer = Importer(agent.journal)
    period = (f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}" if until else None)
    if daemon_running:
        left = await importer.queue(*period, listed)
        note = f" ({left} unchanged since the agent acted on them: use replay to run one again)" if left else ""
        return f"{len(ids) - left} orders queued; the running agent processes them{note}"
    await agent.journal.reset_running()  # this process owns the journal: items left running are a dead one's

    try:
        batch = _import_batch(agent, listed)
        return (await importer.run(*period, ids, batch, progress, batch=agent.config.worker.concurrency)).summary()
    except asyncio.CancelledError:
        state = await importer.state()
        print(state.summary() if state else "import interrupted", file=sys.stderr)
        raise


def _import_batch(agent: Services, listed: dict[int, str]) -> Callable[[list[str]], Awaitable[list[str]]]:
    """Run a batch of listed orders side by side, as the daemon's worker would; an order already acted on
    in the state the list shows is UNCHANGED: neither WooCommerce nor Dynaccount is asked anything about it."""

    load = _references_once(agent)

    async def batch(keys: list[str]) -> list[str]:
        opened = [key for key in keys
                  if await agent.journal.hint_work(key, fingerprint=listed[int(key.partition(":")[2])])]
        for key in opened:
            await agent.journal.requeue(key)  # due now, whatever backoff a dead process left it with
        if opened:
            await load()
            await agent.worker.run_once()
        ended = {}
        for key in opened:
            item = await agent.journal.get_work(key)
            ended[key] = item.state if item else "missing"
        return [ended.get(key, UNCHANGED) for key in keys]

    return batch


def _references_once(agent: Services) -> Callable[[], Awaitable[None]]:
    """The reference index, loaded once before the first order is worked on (A-44, agent.apply.refindex).

    Only called where this process holds the journal's lock (no daemon runs, ``agent.journal.owner``), for
    the whole import: like the daemon, it is then the only writer of this shop's references, so a new order
    skips the look-up by reference. Loaded on the first batch with work, not at the start, so a re-run over
    an unchanged period still makes no Dynaccount call; a failed load only costs the look-ups (not retried)."""
    tried = False

    async def load() -> None:
        nonlocal tried
        if tried or agent.references is None:
            return
        tried = True
        try:
            await agent.references.load()
        except Exception as exc:  # the import goes on, every document looked up first
            log.warning("reference index not loaded (look-ups by reference): %s: %s", type(exc).__name__, exc)

    return load


async def webhooks(agent: Services, heal: bool) -> str:
    lines = [f"{w.id:>5} {w.status:<9} {w.topic:<40} {w.delivery_url}" for w in await agent.woo.list_webhooks()]
    if heal:
        if not agent.config.woocommerce.webhook_url:
            return "set [woocommerce] webhook_url to let the agent manage its webhooks"
        report = await agent.sweep.heal_webhooks()
        lines.append(f"created {report.created or 'none'}, re-activated {report.reactivated or 'none'}, "
                     f"healthy {report.healthy or 'none'}")  # fmt: skip
    return "\n".join(lines) or "no webhooks"


async def reconcile(agent: Services, start: date, end: date) -> Report:
    """The books beside the shop for the days [start, end) in the shop's time zone."""
    tz = ZoneInfo(agent.config.server.timezone)
    gatherer = await open_gatherer(agent.woo, agent.dyn, agent.config.plan, agent.journal)
    return await gatherer.report(Period(start, end, tz))


async def oss(agent: Services, quarter: str) -> OssReport:
    gatherer = await open_gatherer(agent.woo, agent.dyn, agent.config.plan, agent.journal)
    return await gatherer.oss(quarter, ZoneInfo(agent.config.server.timezone))


async def held(agent: Services) -> str:
    """The approval queue as text: each held item, why, and what would be booked."""
    items = await Approvals(agent.journal).held()
    if not items:
        return "nothing is held"
    lines = []
    for item in items:
        plan = item.plan or {}
        total = plan.get("totals", {}).get("total")
        what = f"invoice {total} {plan.get('currency', '')}".strip() if item.approvable else "nothing to book yet"
        lines.append(f"{item.key}: {what}\n    held: {item.reason}")
    return "\n".join(lines)


async def decide(agent: Services, action: str, order_id: int, by: str, *, daemon_running: bool, reason: str = "",
                 mappings: list[str] | None = None) -> str:  # fmt: skip
    """approve | dismiss | replan one held order; processed here unless a running agent does it."""
    key = f"order:{order_id}"
    approvals = Approvals(agent.journal)
    if action == "approve":
        await approvals.approve(key, by)
    elif action == "dismiss":
        await approvals.dismiss(key, by, reason)
    else:
        await approvals.replan(key, by, mappings or [])
    if daemon_running:
        return f"{key}: {action} recorded; the running agent acts on it now"
    return "\n".join(f"{k} -> {v}" for k, v in (await process_now(agent, [key])).items())



async def stock_sync(agent: Services, *, dry_run: bool, full: bool, daemon_running: bool) -> str:
    """One stock run now. A running agent is asked (``POST /api/stock/sync``), so two processes never
    write stock at once; else it runs here on the same journal. ``--dry-run`` writes nothing anywhere."""
    if daemon_running:
        return render_stock_run(await _ask_agent_for_stock(agent, dry_run, full))
    room = StockRoom(StockJournal(agent.journal), agent.woo, agent.dyn, agent.clock, agent.config.stock)
    summary = await room.sync(dry_run=dry_run, full=full, reason="command line" + (" (dry run)" * dry_run))
    items = [{"sku": r.sku, "state": r.state, "reason": r.reason, "shop_qty": r.shop_qty, "write_qty": r.write_qty}
             for r in summary.results]  # fmt: skip
    return render_stock_run({**summary.public(), "items": items})


async def _ask_agent_for_stock(agent: Services, dry_run: bool, full: bool) -> dict[str, Any]:
    server = agent.config.server
    params = {"dry_run": "1" if dry_run else "0", "full": "1" if full else "0"}
    base = f"http://{server.host}:{server.port}"
    # the daemon's same-origin rule (agent.web.api): this very host as Origin, or the bearer token if set
    headers = {"Origin": base}
    if token := server.auth_token.get_secret_value():
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.post(
            f"{base}/api/stock/sync", params=params, headers=headers) as resp:  # fmt: skip
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


def render_stock_run(summary: dict[str, Any]) -> str:
    verb = "would write" if summary.get("dry_run") else "written"
    lines = [f"stock run ({summary['reason']}): {summary['compared']} Dynaccount products compared, "
             f"{summary['changed']} changed, {summary['written']} {verb}, {summary['unchanged']} already right, "
             f"{summary['skipped']} skipped, {summary['errors']} errors, {summary['write_calls']} write calls"]
    if summary.get("error"):
        lines.append(f"stopped: {summary['error']}")
    for item in summary.get("items", []):
        if item["state"] != "ok" or not str(item["reason"]).startswith("unchanged"):
            lines.append(f"  {item['sku']:<20} {item['state']:<8} shop {item.get('shop_qty')} -> "
                         f"{item.get('write_qty')}: {item['reason']}")
    return "\n".join(lines)


async def check_vat_codes(agent: Services) -> list[str]:
    """Mapped VAT codes Dynaccount lacks or whose rate differs (``check --dynaccount``)."""
    from agent.plan.vatcheck import problems

    codes = {code.name: code.rate for code in await agent.dyn.list_vatcodes()}
    found = problems(agent.config.vat, codes)
    dimension = agent.config.shop.dimension_name
    if dimension and not await agent.dyn.get("dimension", select=("id",), filters={"name": dimension}):
        found.append(f"[shop] dimension_name {dimension!r} does not exist in Dynaccount (create the department)")
    return found


def parse_day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


async def catalog_sync(agent: Services, kind: str, *, dry_run: bool) -> str:
    """``sync products|customers``: the whole shop into Dynaccount, resumable, with a summary (issue 15)."""
    if agent.catalog is None or kind not in ("products", "customers"):
        return f"nothing to sync for {kind!r}"
    summary = await agent.catalog.bulk.run("products" if kind == "products" else "customers", dry_run=dry_run)
    return summary.text()
