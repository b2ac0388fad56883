"""Composition root: the only place where the agent's objects are built and wired."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from agent import status
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.intake import Intake
from agent.journal import Journal

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
JOURNAL = web.AppKey("journal", Journal)
INTAKE = web.AppKey("intake", Intake)

WEBHOOK_PATH = "/webhooks/woocommerce"


async def _journal_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    journal = await Journal.open(config.journal.path, synchronous=config.journal.synchronous, clock=app[CLOCK])
    app[JOURNAL] = journal
    app[INTAKE] = Intake(journal, config.woocommerce.webhook_secret.get_secret_value(), app[CLOCK])
    log.info("journal open at %s", config.journal.path)
    yield
    await journal.close()
    log.info("journal closed")


async def _webhook(request: web.Request) -> web.Response:
    return await request.app[INTAKE].handle(request)


async def _api_status(request: web.Request) -> web.Response:
    app = request.app
    return web.json_response(await status.status_payload(app[JOURNAL], app[INTAKE]))


async def _healthz(request: web.Request) -> web.Response:
    return await status.healthz(request.app[JOURNAL])


def create_app(config: Config, *, clock: Clock | None = None) -> web.Application:
    app = web.Application(client_max_size=config.server.max_body_bytes)
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app.cleanup_ctx.append(_journal_ctx)
    app.router.add_post(WEBHOOK_PATH, _webhook)
    app.router.add_get("/api/status", _api_status)
    app.router.add_get("/healthz", _healthz)
    return app
