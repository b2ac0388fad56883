"""Composition root: the only place where the agent's objects are built and wired.

The daemon (cleanup contexts of the aiohttp application) and every one-off command (``plan``,
``replay``, ``import``, ``webhooks``) get their journal, HTTP sessions, clients and services from
the same two functions, :func:`open_journal` and :func:`open_services`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from agent.apply import Applier
from agent.apply.refindex import References
from agent.apply.vatcodes import VatCodes
from agent.catalog import Catalog, customers_on, products_on
from agent.catalog import topics as catalog_topics
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.dynaccount.client import DynaccountClient
from agent.files.importer import FileImporter
from agent.files.processor import FileOrderProcessor
from agent.health.systems import SystemHealth
from agent.journal import Journal
from agent.journal.owner import owned, ownership
from agent.keys import AUTOSTART, CLOCK, CONFIG, INTAKE, JOURNAL, METRICS, SERVICES
from agent.mail.app import add_mail
from agent.metrics import Metrics
from agent.orders import OrderProcessor
from agent.preflight import online_check
from agent.services import Dispatcher, Services
from agent.stock import TOPICS as STOCK_TOPICS
from agent.sweep import TOPICS, Sweep
from agent.web import WEBHOOK_PATH, add_routes
from agent.web.intake import Intake
from agent.web.stock import install as install_stock
from agent.woo.client import WooClient
from agent.worker import Worker

log = logging.getLogger(__name__)

# Shutdown must end inside systemd's TimeoutStopSec=45 (systemd/dynaccount-agent@.service) with margin:
# requests in flight get HTTP_SHUTDOWN_SECONDS, then the worker's items WORKER_GRACE_SECONDS (a cancelled
# item is safe: it is put back at the next start), the sweep and mail loops are cancelled at once.
# 10 + 15 = 25 s, leaving 20 s for the journal's close and the loops' cancellation.
HTTP_SHUTDOWN_SECONDS = 10.0
WORKER_GRACE_SECONDS = 15.0

__all__ = [
    "JOURNAL", "SERVICES", "WEBHOOK_PATH", "Services", "create_app", "open_agent", "open_command", "open_journal",
    "open_services", "open_woo", "runner_options", "webhook_topics",
]  # fmt: skip


@contextlib.asynccontextmanager
async def open_journal(config: Config, clock: Clock) -> AsyncIterator[Journal]:
    journal = await Journal.open(config.journal.path, synchronous=config.journal.synchronous, clock=clock)
    log.info("journal open at %s", config.journal.path)
    try:
        yield journal
    finally:
        await journal.close()
        log.info("journal closed")


@contextlib.asynccontextmanager
async def _sessions(config: Config) -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientSession]]:
    # Dynaccount asks for few keep-alive connections: one per call allowed in flight.
    parallel = config.dynaccount.max_parallel_calls
    dyn_connector = aiohttp.TCPConnector(limit=parallel, limit_per_host=parallel)
    async with aiohttp.ClientSession() as woo_session, aiohttp.ClientSession(connector=dyn_connector) as dyn_session:
        yield woo_session, dyn_session


def _hook(system: str, metrics: Metrics | None,
          health: SystemHealth | None) -> Callable[[str, str, float], None] | None:  # fmt: skip
    """The libraries report each call to one hook: the daemon's metrics count it, the health state learns
    from it whether the system answers."""
    hooks = [h.call_hook(system) for h in (metrics, health) if h is not None]
    if not hooks:
        return None

    def observe(method: str, outcome: str, seconds: float) -> None:
        for hook in hooks:
            hook(method, outcome, seconds)

    return observe


def _clients(config: Config, woo_session: aiohttp.ClientSession, dyn_session: aiohttp.ClientSession,
             metrics: Metrics | None = None,
             health: SystemHealth | None = None) -> tuple[WooClient, DynaccountClient]:  # fmt: skip
    woo_cfg, dyn_cfg = config.woocommerce, config.dynaccount
    woo_hook, dyn_hook = _hook("woocommerce", metrics, health), _hook("dynaccount", metrics, health)
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


def webhook_topics(config: Config) -> tuple[str, ...]:
    """Every webhook the agent needs: the orders', product.updated while stock sync is on, and the catalog's
    product/customer topics while that sync is on (issue 15)."""
    extra = (STOCK_TOPICS if config.stock.enabled else ()) + catalog_topics(config.plan)
    return TOPICS + tuple(dict.fromkeys(extra))


def _files(config: Config, journal: Journal, woo: WooClient, applier: Applier, codes: VatCodes) -> FileImporter:
    # File orders are not mailed (the mail hook reads WooCommerce orders by id): a shallow copy of the
    # applier without the hook, sharing its debtor and product locks, so a webshop order and a file
    # order of one new customer still get one debtor number.
    quiet = copy.copy(applier)
    quiet.on_booked = None
    return FileImporter(config.files, config.plan, FileOrderProcessor(journal, woo, quiet, config.plan, codes))


@contextlib.asynccontextmanager
async def open_services(config: Config, journal: Journal, clock: Clock,
                        metrics: Metrics | None = None) -> AsyncIterator[Services]:  # fmt: skip
    """Sessions, clients and services over an open journal; nothing is started here."""
    async with _sessions(config) as (woo_session, dyn_session):
        health = SystemHealth(clock, grace_seconds=config.alerts.after_minutes * 60)
        woo, dyn = _clients(config, woo_session, dyn_session, metrics, health)
        applier = Applier(journal, dyn, clock, payment_account=config.dynaccount.payment_account,
                          payment_draft=config.dynaccount.payment_draft)  # fmt: skip
        applier.dimension = config.shop.dimension_name
        # Loaded only by the daemon or a standalone import, which own the journal; until then every create
        # looks up first.
        applier.references = References(dyn, config.plan.shop.name, config.plan.invoice.reference,
                                        config.plan.refunds.reference)  # fmt: skip
        vat_codes = VatCodes(dyn)  # codes read on first use
        orders = OrderProcessor(journal, woo, applier, config.plan, vat_codes)
        files = _files(config, journal, woo, applier, vat_codes)
        processors = {"order": health.watch(orders), "file": health.watch(files.processor, loads_from_woo=False)}
        dispatcher = Dispatcher(processors)
        catalog = Catalog.build(journal, woo, dyn, clock, config.plan)
        if products_on(config.plan):
            dispatcher.register("product", catalog.products)
            dispatcher.register("variation", catalog.products)
        if customers_on(config.plan):
            dispatcher.register("customer", catalog.customers)
        worker = Worker(journal, dispatcher, config.worker, clock, grace_seconds=WORKER_GRACE_SECONDS)
        sweep = Sweep(
            journal, woo, dyn, clock, interval=config.sweep.interval_seconds, overlap=config.sweep.overlap_seconds,
            lookback=config.sweep.lookback_hours * 3600, webhook_url=config.woocommerce.webhook_url,
            webhook_secret=config.woocommerce.webhook_secret.get_secret_value(), keep_days=config.journal.keep_days,
            topics=webhook_topics(config),
        )  # fmt: skip
        worker.gate, sweep.on_error, sweep.on_reached = health.paused, health.failed, health.reached
        yield Services(config, clock, journal, woo, dyn, orders, worker, sweep, health, dispatcher, files, catalog,
                       applier.references)  # fmt: skip


@contextlib.asynccontextmanager
async def open_agent(config: Config, clock: Clock | None = None) -> AsyncIterator[Services]:
    """Everything a one-off command needs, built exactly as the daemon builds it."""
    clock = clock or SystemClock()
    async with open_journal(config, clock) as journal, open_services(config, journal, clock) as services:
        yield services


@contextlib.asynccontextmanager
async def open_woo(config: Config) -> AsyncIterator[WooClient]:
    """A WooCommerce client alone, built as the daemon's is (the demo drives the shop with it)."""
    async with _sessions(config) as (woo_session, dyn_session):
        yield _clients(config, woo_session, dyn_session)[0]


@contextlib.asynccontextmanager
async def open_command(config: Config, clock: Clock | None = None) -> AsyncIterator[tuple[Services, bool]]:
    """What a one-off command runs over, and whether a daemon owns the journal (``agent.journal.owner``):
    then the command hands its work to the daemon through the journal and never runs the worker."""
    with ownership(config.journal.path) as own:
        async with open_agent(config, clock) as services:
            yield services, not own


async def _journal_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    async with open_journal(config, app[CLOCK]) as journal:
        app[JOURNAL] = journal
        app[INTAKE] = Intake(
            journal, config.woocommerce.webhook_secret.get_secret_value(), app[CLOCK],
            unsigned_per_minute=config.server.unsigned_per_minute, body_timeout=config.server.body_timeout_seconds,
        )  # fmt: skip
        yield


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    # One worker per journal: the daemon owns it for its whole life (a replay/import then hands over).
    with owned(config.journal.path):
        async with open_services(config, app[JOURNAL], app[CLOCK], app[METRICS]) as services:
            app[SERVICES] = services
            app[INTAKE].on_work = services.worker.wake
            checking: asyncio.Task[None] | None = None
            if app[AUTOSTART]:
                assert services.references is not None
                services.references.start()  # in the background: readiness never waits for it
                services.worker.start()
                if config.sweep.enabled:
                    services.sweep.start()
                checking = asyncio.create_task(_log_online_check(services), name="online check")
            yield
            if checking is not None:
                checking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checking
            # One loop failing to stop must not keep the others from stopping (nor the journal from closing).
            assert services.references is not None
            for name, stop in (("sweep", services.sweep.stop), ("worker", services.worker.stop),
                               ("reference index", services.references.stop)):  # fmt: skip
                try:
                    await stop()
                except Exception:
                    log.exception("%s did not stop cleanly", name)


async def _log_online_check(services: Services) -> None:
    """``check --online`` at start, logged: a wrong key or a missing VAT code is named before an order needs it."""
    config = services.config
    healed = config.sweep.enabled and config.woocommerce.webhook_url is not None  # the sweep heals them
    try:
        findings = await online_check(services, webhooks=not healed)
    except Exception:  # the check must never keep the agent from running
        log.exception("online check failed")
        return
    for finding in findings:
        log.warning("online check: %s", finding)
    if not findings:
        log.info("online check: WooCommerce and Dynaccount answer; everything configured exists")


def runner_options(config: Config) -> dict[str, float]:
    """How the daemon's HTTP server is run: stalled connections closed, shutdown inside systemd's limit.

    aiohttp's keep-alive timer starts when a connection is made and closes it if no complete request
    arrived by then: it is the header read timeout (and the idle keep-alive time, which WooCommerce
    does not need).
    """
    return {"keepalive_timeout": config.server.header_timeout_seconds, "shutdown_timeout": HTTP_SHUTDOWN_SECONDS}


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
    add_routes(app)
    add_mail(app, background=background)
    install_stock(app)  # after mail: it chains the applier's on_booked hook
    return app
