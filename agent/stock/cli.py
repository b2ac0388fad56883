"""``dynaccount-agent stock sync [--dry-run] [--full]``: one stock run now, with its figures per SKU.

When the agent is running (its status port answers), the run is asked of it through ``POST
/api/stock/sync`` so two processes never write stock at once; otherwise it runs in this process on the
same journal. ``--dry-run`` shows what would be written and writes nothing, in the shop or the journal.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from agent.clock import SystemClock
from agent.config import Config
from agent.journal_stock import StockJournal
from agent.stock.room import RunSummary, StockRoom


async def stock_sync(config: Config, *, dry_run: bool, full: bool) -> str:
    from agent.operations import agent_running, parts  # the one-off commands' shared parts

    if await agent_running(config):
        return render(await _ask_agent(config, dry_run, full))
    async with parts(config) as p:
        room = StockRoom(StockJournal(p.journal), p.woo, p.dyn, SystemClock(), config.stock)
        summary = await room.sync(dry_run=dry_run, full=full, reason="command line" + (" (dry run)" * dry_run))
        return render({**summary.public(), "items": [_item(r) for r in summary.results]})


async def _ask_agent(config: Config, dry_run: bool, full: bool) -> dict[str, Any]:
    url = f"http://{config.server.host}:{config.server.port}/api/stock/sync"
    params = {"dry_run": "1" if dry_run else "0", "full": "1" if full else "0"}
    async with aiohttp.ClientSession() as session, session.post(url, params=params) as resp:
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json()
        return data


def _item(r: Any) -> dict[str, Any]:
    return {"sku": r.sku, "state": r.state, "reason": r.reason, "shop_qty": r.shop_qty, "write_qty": r.write_qty}


def render(summary: dict[str, Any]) -> str:
    verb = "would write" if summary.get("dry_run") else "written"
    lines = [f"stock run ({summary['reason']}): {summary['compared']} Dynaccount products compared, "
             f"{summary['changed']} changed, {summary['written']} {verb}, {summary['unchanged']} already right, "
             f"{summary['skipped']} skipped, {summary['errors']} errors, {summary['write_calls']} write calls"]
    if summary.get("error"):
        lines.append(f"stopped: {summary['error']}")
    for item in summary.get("items", []):
        if item["state"] != "ok" or not str(item["reason"]).startswith("unchanged"):
            shop, qty = item.get("shop_qty"), item.get("write_qty")
            lines.append(f"  {item['sku']:<20} {item['state']:<8} shop {shop} -> {qty}: {item['reason']}")
    return "\n".join(lines)


__all__ = ["RunSummary", "render", "stock_sync"]
