"""``GET /metrics``: read the state figures once per scrape and let prometheus_client render them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from agent.clock import Clock
from agent.journal import Journal
from agent.journal.mail import MailJournal
from agent.journal.ops import OpsJournal
from agent.journal.stock import StockJournal
from agent.keys import CLOCK, INTAKE, JOURNAL, METRICS, SERVICES
from agent.metrics import JobFigures, Snapshot

if TYPE_CHECKING:
    from agent.services import Services
    from agent.web.intake import Intake

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def outside_up(services: Services | None) -> dict[str, bool]:
    """Up/down of the outside systems: down while the health state (what the worker's runs found) holds
    the system down, or while the client's last call could not reach it. A fuller state (issue 11) plugs
    in here, in this one function."""
    if services is None:
        return {}
    down = set(services.health.down) if services.health is not None else set()
    return {"woocommerce": services.woo.reachable and "woocommerce" not in down,
            "dynaccount": services.dyn.reachable and "dynaccount" not in down}  # fmt: skip


async def snapshot(journal: Journal, intake: Intake, services: Services | None, clock: Clock) -> Snapshot:
    counts = await journal.counts()
    deliveries = {k: v for k, v in counts.deliveries.items() if k not in ("stored", "duplicates")}
    since = await OpsJournal(journal).oldest_pending_since()
    snap = Snapshot(
        deliveries=deliveries, repeats=counts.deliveries.get("duplicates", 0),
        rejected={"bad_signature": intake.stats.rejected, "too_large": intake.stats.too_large},
        work=counts.work, oldest_pending_age=max(0.0, clock.now() - since) if since is not None else None,
        outside_up=outside_up(services),
    )  # fmt: skip
    # Other rooms' counts, each one labelled gauge.
    snap.counts["mail_outbox"] = ("Mails in the outbox, by state.", await MailJournal(journal).counts(), "state")
    snap.counts["stock_items"] = ("SKUs the stock room keeps, by state.", await StockJournal(journal).counts(), "state")
    if services is not None:
        worker, sweep = services.worker, services.sweep
        snap.worker_last_run, snap.worker_errors = worker.last_run, worker.errors
        snap.worker_processed, snap.worker_paused = worker.processed, worker.paused_reason is not None
        for job in sweep.jobs:
            snap.jobs[job.name] = JobFigures(job.status.last_run, job.status.last_error is not None, job.status.errors)
    return snap


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    snap = await snapshot(app[JOURNAL], app[INTAKE], app.get(SERVICES), app[CLOCK])
    return web.Response(body=app[METRICS].exposition(snap), headers={"Content-Type": CONTENT_TYPE})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
