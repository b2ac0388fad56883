"""One-off commands: plan (dry run), replay, import, webhooks.

Each runs over the services the composition root built (``agent.app.open_agent``, exactly as the
daemon builds them); ``daemon_running`` says whether a running agent answers, in which case work is
only queued for it (no two processes work on one order).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from agent.plan import CreditNoteContext, Skip, plan_creditnote, render_plan
from agent.services import Services

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
    """Run the given work items once in this process; returns key -> resulting state."""
    await agent.journal.reset_running()
    results = {}
    for key in keys:
        await agent.journal.requeue(key)
        await agent.worker.run_once()
        item = await agent.journal.get_work(key)
        results[key] = f"{item.state}: {item.reason or item.error or ''}" if item else "missing"
    return results


async def replay(agent: Services, order_id: int, *, daemon_running: bool) -> str:
    key = f"order:{order_id}"
    if daemon_running:
        await agent.journal.requeue(key)
        await agent.journal.add_event(key, "replay requested from the command line")
        return f"{key} queued; the running agent picks it up now"
    await agent.journal.add_event(key, "replayed from the command line")
    return "\n".join(f"{k} -> {v}" for k, v in (await process_now(agent, [key])).items())


async def import_orders(
    agent: Services, since: datetime, until: datetime | None, dry_run: bool, *, daemon_running: bool
) -> str:
    """Historic orders (created in [since, until)) become work; with --dry-run only plans are shown."""
    ids = [o.id async for o in agent.woo.iter_orders(after=since, before=until, dates_are_gmt=True,
                                                      orderby="date", order="asc")]  # fmt: skip
    if dry_run:
        lines = [f"{len(ids)} orders from {since:%Y-%m-%d}:"]
        for order_id in ids:
            order = await agent.woo.get_order(order_id)
            plan = agent.orders.plan(order, [], await agent.journal.order_facts(order_id))
            what = plan.reason if isinstance(plan, Skip) else f"invoice {plan.totals.total} {plan.currency}"
            lines.append(f"  order {order_id}: {what}")
        return "\n".join(lines)
    for order_id in ids:
        await agent.journal.hint_work(f"order:{order_id}")
    if daemon_running:
        return f"{len(ids)} orders queued; the running agent processes them"
    results = await process_now(agent, [f"order:{i}" for i in ids])
    states = [v.split(":", 1)[0] for v in results.values()]
    summary = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
    return f"{len(ids)} orders imported: {summary or 'nothing to do'}"


async def webhooks(agent: Services, heal: bool) -> str:
    lines = [f"{w.id:>5} {w.status:<9} {w.topic:<40} {w.delivery_url}" for w in await agent.woo.list_webhooks()]
    if heal:
        if not agent.config.woocommerce.webhook_url:
            return "set [woocommerce] webhook_url to let the agent manage its webhooks"
        report = await agent.sweep.heal_webhooks()
        lines.append(f"created {report.created or 'none'}, re-activated {report.reactivated or 'none'}, "
                     f"healthy {report.healthy or 'none'}")  # fmt: skip
    return "\n".join(lines) or "no webhooks"


async def check_vat_codes(agent: Services) -> list[str]:
    """Mapped VAT codes Dynaccount lacks or whose rate differs (``check --dynaccount``)."""
    from agent.plan.vatcheck import problems

    codes = {code.name: code.rate for code in await agent.dyn.list_vatcodes()}
    return problems(agent.config.vat, codes)


def parse_day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
