"""Status JSON, /healthz and the status page. Read-only views over the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from agent.clock import iso
from agent.journal import Journal, WorkItem
from agent.web.intake import Intake

if TYPE_CHECKING:
    from agent.services import Services


async def status_payload(journal: Journal, intake: Intake, services: Services | None = None) -> dict[str, Any]:
    counts = await journal.counts()
    deliveries = dict(counts.deliveries)
    deliveries["received"] = counts.deliveries["stored"]
    deliveries["rejected"] = intake.stats.rejected
    deliveries["too_large"] = intake.stats.too_large
    payload: dict[str, Any] = {"deliveries": deliveries, "work": counts.work}
    deleted = await journal.deleted_refunds()
    payload["attention"] = [
        {"kind": "refund_deleted", "refund_id": link.woo_id, "order_id": link.data.get("order_id"),
         "credit_note": link.dyn_number or link.dyn_id,
         "message": f"refund {link.woo_id} was deleted in WooCommerce but is credited in Dynaccount"}
        for link in deleted
    ]  # fmt: skip
    if services is not None:
        worker, sweep = services.worker, services.sweep
        payload["worker"] = {"processed": worker.processed, "paused": worker.paused_reason}
        payload["sweep"] = sweep.status()
    return payload


def work_json(item: WorkItem) -> dict[str, Any]:
    return {
        "key": item.key, "kind": item.kind, "resource_id": item.resource_id, "state": item.state,
        "attempts": item.attempts, "due_at": iso(item.due_at), "updated_at": iso(item.updated_at),
        "reason": item.reason, "error": item.error,
    }  # fmt: skip


async def work_list(journal: Journal, state: str | None, limit: int) -> list[dict[str, Any]]:
    items = await journal.list_work(states=(state,) if state else (), limit=limit)
    return [work_json(i) for i in items]


async def work_detail(journal: Journal, key: str) -> dict[str, Any] | None:
    item = await journal.get_work(key)
    if item is None:
        return None
    snapshot = await journal.latest_snapshot(key)
    kind, _, woo_id = key.partition(":")
    link = await journal.get_link(kind, woo_id)
    return {
        **work_json(item),
        "timeline": [
            {"at": iso(e.at), "level": e.level, "message": e.message, "data": e.data}
            for e in reversed(await journal.list_events(key, limit=200))
        ],
        "plan": snapshot[1] if snapshot else None,
        "link": None if link is None else {
            "state": link.state, "dynaccount_id": link.dyn_id, "number": link.dyn_number,
            "reference": link.reference, "amount": link.amount,
        },
    }  # fmt: skip


async def deliveries_list(journal: Journal, state: str | None, limit: int) -> list[dict[str, Any]]:
    return [
        {"id": d.id, "received_at": iso(d.received_at), "topic": d.topic, "resource_id": d.resource_id,
         "state": d.state, "error": d.error, "work_key": d.work_key, "repeats": d.repeats, "bytes": len(d.body)}
        for d in await journal.list_deliveries(limit=limit, state=state)
    ]  # fmt: skip


async def healthz(journal: Journal) -> web.Response:
    try:
        ok = await journal.ping()
    except Exception:  # the journal being unusable is exactly what this reports
        ok = False
    return web.json_response({"ok": ok}, status=200 if ok else 503)
