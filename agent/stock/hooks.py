"""Wiring of the stock room into the running agent (called once from the composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from agent.journal_stock import StockJournal
from agent.stock.echo import ProductCheck, echo_reason
from agent.stock.room import StockRoom
from agent.stock.web import STOCK, STOCK_JOURNAL, add_routes

log = logging.getLogger(__name__)
TOPICS = ("product.updated",)  # the webhook the agent needs for echoes and shop-side edits


def install(app: web.Application) -> None:
    app.cleanup_ctx.append(_stock_ctx)
    add_routes(app)


async def _stock_ctx(app: web.Application) -> AsyncIterator[None]:
    from agent.app import AUTOSTART, CLOCK, CONFIG, INTAKE, JOURNAL, SERVICES  # app.py imports this package

    config, services = app[CONFIG], app.get(SERVICES)
    if not config.stock.enabled:
        yield
        return
    stock = StockJournal(app[JOURNAL])
    app[STOCK_JOURNAL] = stock
    if services is None:  # intake-only mode: the page shows what the journal knows, nothing runs
        yield
        return
    room = StockRoom(stock, services.woo, services.dyn, app[CLOCK], config.stock)
    app[STOCK] = room

    async def echo(topic: str | None, body: bytes) -> str | None:
        return await echo_reason(stock, topic, body)

    app[INTAKE].echo_check = echo
    check = ProductCheck(stock, app[JOURNAL], services.woo)
    if services.dispatcher is not None:
        services.dispatcher.register("product", check)
        services.dispatcher.register("variation", check)
    services.orders.applier.on_booked = room.poke
    if app[AUTOSTART]:
        room.start()
    yield
    await room.stop()
