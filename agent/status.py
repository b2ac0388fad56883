"""Status JSON, /healthz and the status page. Read-only views over the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from agent.clock import iso
from agent.intake import Intake
from agent.journal import Journal

if TYPE_CHECKING:
    from agent.app import Services


async def status_payload(journal: Journal, intake: Intake, services: Services | None = None) -> dict[str, Any]:
    counts = await journal.counts()
    deliveries = dict(counts.deliveries)
    deliveries["received"] = counts.deliveries["stored"]
    deliveries["rejected"] = intake.stats.rejected
    deliveries["too_large"] = intake.stats.too_large
    payload: dict[str, Any] = {"deliveries": deliveries, "work": counts.work}
    deleted = [link for link in await journal.list_links("refund") if link.state == "deleted_in_woo"]
    payload["attention"] = [
        {"kind": "refund_deleted", "refund_id": link.woo_id, "order_id": link.data.get("order_id"),
         "credit_note": link.dyn_number or link.dyn_id,
         "message": f"refund {link.woo_id} was deleted in WooCommerce but is credited in Dynaccount"}
        for link in deleted
    ]  # fmt: skip
    if services is not None:
        worker, sweep = services.worker, services.sweep
        payload["worker"] = {"processed": worker.processed, "paused": worker.paused_reason}
        payload["sweep"] = {
            "last_run": iso(sweep.status.last_run) if sweep.status.last_run else None,
            "last_error": sweep.status.last_error, "orders_hinted": sweep.status.orders_hinted,
            "webhooks": vars(sweep.status.webhooks),
        }  # fmt: skip
    return payload


async def healthz(journal: Journal) -> web.Response:
    try:
        ok = await journal.ping()
    except Exception:  # the journal being unusable is exactly what this reports
        ok = False
    return web.json_response({"ok": ok}, status=200 if ok else 503)
