"""Status JSON, /healthz and (later) the status page. Read-only views over the journal."""

from __future__ import annotations

from aiohttp import web

from agent.intake import Intake
from agent.journal import Journal


async def status_payload(journal: Journal, intake: Intake) -> dict[str, object]:
    counts = await journal.counts()
    deliveries = dict(counts.deliveries)
    deliveries["received"] = counts.deliveries["stored"]
    deliveries["rejected"] = intake.stats.rejected
    deliveries["too_large"] = intake.stats.too_large
    return {"deliveries": deliveries, "work": counts.work}


async def healthz(journal: Journal) -> web.Response:
    try:
        ok = await journal.ping()
    except Exception:  # the journal being unusable is exactly what this reports
        ok = False
    return web.json_response({"ok": ok}, status=200 if ok else 503)
