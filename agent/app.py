"""Composition root: the only place where the agent's objects are built and wired."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from agent import status
from agent.apply import Applier
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.dynaccount.client import DynaccountClient
from agent.intake import Intake
from agent.journal import Journal, WorkItem
from agent.metrics import Metrics
from agent.metrics_web import METRICS
from agent.metrics_web import add_routes as add_metrics
from agent.ops_page import add_routes as add_ops_page
from agent.orders import OrderProcessor, classify
from agent.status_page import add_routes as add_status_page
from agent.sweep import Sweep
from agent.woo.client import WooClient
from agent.worker import Outcome, Processor, Worker

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
JOURNAL = web.AppKey("journal", Journal)
INTAKE = web.AppKey("intake", Intake)
AUTOSTART = web.AppKey("autostart", bool)

WEBHOOK_PATH = "/webhooks/woocommerce"


@dataclass
class Services:
    woo: WooClient
    dyn: DynaccountClient
    orders: OrderProcessor
    worker: Worker
    sweep: Sweep


SERVICES = web.AppKey("services", Services)


class Dispatcher:
    """Route a work item to the processor for its kind; kinds with nothing to do say why."""

    NOTHING_TO_DO = {
        "product": "product changes need no accounting (Dynaccount is the stock master)",
        "variation": "product changes need no accounting (Dynaccount is the stock master)",
        "customer": "customer details are sent with the customer's next invoice",
        "subscription": "subscriptions are invoiced through their renewal orders",
    }

    def __init__(self, processors: dict[str, Processor]) -> None:
        self._processors = processors

    async def __call__(self, item: WorkItem) -> Outcome:
        processor = self._processors.get(item.kind)
        if processor is not None:
            return await processor(item)
        return Outcome("skipped", self.NOTHING_TO_DO.get(item.kind, f"nothing is done for {item.kind} items"))


def build_clients(config: Config, woo_session: aiohttp.ClientSession, dyn_session: aiohttp.ClientSession,
                  metrics: Metrics | None = None) -> tuple[WooClient, DynaccountClient]:  # fmt: skip
    woo_cfg, dyn_cfg = config.woocommerce, config.dynaccount
    woo_hook = metrics.call_hook("woocommerce") if metrics else None
    dyn_hook = metrics.call_hook("dynaccount") if metrics else None
    woo = WooClient(
        woo_session, base_url=woo_cfg.url, consumer_key=woo_cfg.consumer_key.get_secret_value(),
        consumer_secret=woo_cfg.consumer_secret.get_secret_value(),
        ca_file=str(woo_cfg.ca_file) if woo_cfg.ca_file else None, timeout=woo_cfg.timeout_seconds, on_call=woo_hook,
    )  # fmt: skip
    dyn = DynaccountClient(
        dyn_session, base_url=dyn_cfg.base_url, api_id=str(dyn_cfg.api_id),
        api_key=dyn_cfg.api_key.get_secret_value(), api_secret=dyn_cfg.api_secret.get_secret_value(),
        timeout=dyn_cfg.timeout_seconds, max_parallel=dyn_cfg.max_parallel_calls, on_call=dyn_hook,
    )  # fmt: skip
    return woo, dyn


def build_processor(config: Config, journal: Journal, woo: WooClient, dyn: DynaccountClient,
                    clock: Clock) -> OrderProcessor:  # fmt: skip
    applier = Applier(journal, dyn, clock, payment_account=config.dynaccount.payment_account,
                      payment_draft=config.dynaccount.payment_draft)  # fmt: skip
    return OrderProcessor(journal, woo, dyn, applier, config.plan)


async def _journal_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    journal = await Journal.open(config.journal.path, synchronous=config.journal.synchronous, clock=app[CLOCK])
    app[JOURNAL] = journal
    app[INTAKE] = Intake(journal, config.woocommerce.webhook_secret.get_secret_value(), app[CLOCK])
    log.info("journal open at %s", config.journal.path)
    yield
    await journal.close()
    log.info("journal closed")


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    config, journal, clock = app[CONFIG], app[JOURNAL], app[CLOCK]
    # Dynaccount asks for few keep-alive connections: one per call allowed in flight.
    parallel = config.dynaccount.max_parallel_calls
    dyn_connector = aiohttp.TCPConnector(limit=parallel, limit_per_host=parallel)
    async with aiohttp.ClientSession() as woo_session, aiohttp.ClientSession(connector=dyn_connector) as dyn_session:
        woo, dyn = build_clients(config, woo_session, dyn_session, app[METRICS])
        orders = build_processor(config, journal, woo, dyn, clock)
        worker = Worker(journal, Dispatcher({"order": orders}), config.worker, clock, classify=classify)
        sweep = Sweep(
            journal, woo, clock, interval=config.sweep.interval_seconds, overlap=config.sweep.overlap_seconds,
            lookback=config.sweep.lookback_hours * 3600, webhook_url=config.woocommerce.webhook_url,
            webhook_secret=config.woocommerce.webhook_secret.get_secret_value(),
        )  # fmt: skip
        app[SERVICES] = Services(woo, dyn, orders, worker, sweep)
        app[INTAKE].on_work = worker.wake
        if app[AUTOSTART]:
            worker.start()
            if config.sweep.enabled:
                sweep.start()
        yield
        await sweep.stop()
        await worker.stop()


async def _webhook(request: web.Request) -> web.Response:
    return await request.app[INTAKE].handle(request)


async def _api_status(request: web.Request) -> web.Response:
    app = request.app
    services = app.get(SERVICES)
    return web.json_response(await status.status_payload(app[JOURNAL], app[INTAKE], services))


async def _healthz(request: web.Request) -> web.Response:
    return await status.healthz(request.app[JOURNAL])


def _limit(request: web.Request) -> int:
    try:
        return max(1, min(1000, int(request.query.get("limit", "100"))))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None


async def _api_work(request: web.Request) -> web.Response:
    items = await status.work_list(request.app[JOURNAL], request.query.get("state"), _limit(request))
    return web.json_response({"items": items})


async def _api_work_item(request: web.Request) -> web.Response:
    detail = await status.work_detail(request.app[JOURNAL], request.match_info["key"])
    if detail is None:
        raise web.HTTPNotFound(text="no such work item")
    return web.json_response(detail)


async def _api_retry(request: web.Request) -> web.Response:
    """The retry/replay button: make the item due now; the worker is woken at once."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    key = request.match_info["key"]
    kind, _, rid = key.partition(":")
    if not kind or not rid.isdigit():
        raise web.HTTPBadRequest(text="a work key looks like order:17")
    await request.app[JOURNAL].requeue(key)
    await request.app[JOURNAL].add_event(key, "retry requested from the status page")
    services = request.app.get(SERVICES)
    if services is not None:
        services.worker.wake()
    return web.json_response({"ok": True, "key": key})


async def _api_deliveries(request: web.Request) -> web.Response:
    rows = await status.deliveries_list(request.app[JOURNAL], request.query.get("state"), _limit(request))
    return web.json_response({"deliveries": rows})


def create_app(
    config: Config, *, clock: Clock | None = None, background: bool = True, autostart: bool = True
) -> web.Application:
    """The agent as an aiohttp application.

    ``background=False`` serves intake and status only (no worker, no sweep, no outside calls), which
    the intake tests and benchmark use; ``autostart=False`` builds the worker and sweep without
    starting their loops, so a test can drive ``run_once()`` with a manual clock.
    """
    app = web.Application(client_max_size=config.server.max_body_bytes)
    app[CONFIG] = config
    app[AUTOSTART] = autostart
    app[CLOCK] = clock or SystemClock()
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_journal_ctx)
    if background:
        app.cleanup_ctx.append(_services_ctx)
    app.router.add_post(WEBHOOK_PATH, _webhook)
    app.router.add_get("/api/status", _api_status)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/api/work", _api_work)
    app.router.add_get("/api/work/{key}", _api_work_item)
    app.router.add_post("/api/work/{key}/retry", _api_retry)
    app.router.add_get("/api/deliveries", _api_deliveries)
    add_status_page(app)
    add_metrics(app)
    add_ops_page(app)
    return app
