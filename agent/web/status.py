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
        payload["worker"] = {
            "processed": worker.processed, "paused": worker.paused, "last_error": worker.last_error,
            "last_error_at": iso(worker.last_error_at) if worker.last_error and worker.last_error_at else None,
        }  # fmt: skip
        payload["sweep"] = sweep.status()
        if services.health is not None:
            payload["systems"] = services.health.states(waiting_work(counts.work))
            payload["attention"] += system_attention(payload["systems"])
    return payload


def waiting_work(work: dict[str, int]) -> int:
    """Work that needs the outside systems before it can end: queued, retrying or in hand."""
    return work.get("pending", 0) + work.get("running", 0)


def system_attention(systems: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key, system in systems.items():
        if system["state"] in ("down", "refusing_keys"):
            what = "refuses the API keys" if system["state"] == "refusing_keys" else "is down"
            out.append({"kind": f"{key}_{system['state']}", "system": key, "since": system["since"],
                        "waiting": system["waiting"],
                        "message": f"{system['name']} {what} since {system['since']}: "
                                   f"{system['waiting']} work item(s) waiting ({system['error']})"})  # fmt: skip
    return out


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


async def healthz(journal: Journal, services: Services | None = None) -> web.Response:
    """200 while the agent itself works, with ``status: degraded`` and the systems' states when an
    outside system is down; 503 only when the journal is unusable (a restart may help then; it cannot
    when Dynaccount is down)."""
    try:
        ok = await journal.ping()
    except Exception:  # the journal being unusable is exactly what this reports
        ok = False
    body: dict[str, Any] = {"ok": ok, "status": "ok" if ok else "down"}
    if ok and services is not None and services.health is not None:
        systems = services.health.states(waiting_work((await journal.counts()).work))
        body["systems"] = {name: {k: v for k, v in sys.items() if k != "error"} for name, sys in systems.items()}
        loops = [services.worker.last_error] + [job.status.last_error for job in services.sweep.jobs]
        if any(s["state"] in ("down", "refusing_keys") for s in systems.values()) or any(loops):
            body["status"] = "degraded"
    return web.json_response(body, status=200 if ok else 503)
