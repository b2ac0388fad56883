"""The stock room at the HTTP edge: ``/api/stock`` (JSON), ``/stock`` (per SKU), the sync button, and
:func:`install` — the one call the composition root makes to run the stock job inside the agent.

The button and ``POST /api/stock/sync`` refuse cross-site requests exactly like the retry button:
a request a browser sends on behalf of another site carries that site's Origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from agent.apply import Applier
from agent.clock import iso
from agent.dynaccount.models import CreditNote, Invoice
from agent.journal.stock import StockJournal, StockRow
from agent.keys import AUTOSTART, CLOCK, CONFIG, INTAKE, JOURNAL, SERVICES
from agent.stock.echo import ProductCheck, echo_reason
from agent.stock.room import StockRoom
from agent.web.api import same_origin
from agent.web.page import _next_url, _render

STOCK: web.AppKey[StockRoom] = web.AppKey("stock_room")
STOCK_JOURNAL: web.AppKey[StockJournal] = web.AppKey("stock_journal")
STATES = ("error", "disagrees", "pending", "ok", "skipped")


def install(app: web.Application) -> None:
    """Routes, and a cleanup context (after the services') that builds the stock job and hooks it into
    intake (echoes), the worker (``product.updated``) and the applier (a debounced run after bookings)."""
    app.cleanup_ctx.append(_stock_ctx)
    app.router.add_get("/api/stock", api_stock)
    app.router.add_post("/api/stock/sync", api_sync)
    app.router.add_get("/stock", page)
    app.router.add_post("/stock/sync", page_sync)


async def _stock_ctx(app: web.Application) -> AsyncIterator[None]:
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
        return await echo_reason(stock, topic, body, catalog=config.products.on_shop_events)

    app[INTAKE].echo_check = echo
    check = ProductCheck(stock, app[JOURNAL], services.woo, services.dyn)
    if services.dispatcher is not None:
        services.dispatcher.chain("product", check)  # before the catalog's product sync, when that is on
        services.dispatcher.chain("variation", check)
    _after_bookings(services.orders.applier, room)
    if app[AUTOSTART]:
        room.start()
    yield
    await room.stop()


def _after_bookings(applier: Applier, room: StockRoom) -> None:
    """A booked invoice or credit note moves Dynaccount's stock (A-35): a debounced run follows. Chained
    after whatever hook the applier already has (the mail room's, registered before this one)."""
    previous = applier.on_booked

    async def booked(kind: str, plan: dict[str, Any], document: Invoice | CreditNote) -> None:
        if previous is not None:
            await previous(kind, plan, document)
        room.poke()

    applier.on_booked = booked


def item_json(row: StockRow) -> dict[str, Any]:
    return {
        "sku": row.sku, "state": row.state, "reason": row.reason, "dynaccount": row.dyn_qty, "target": row.target_qty,
        "shop": row.shop_qty, "last_write": row.written_qty,
        "written_at": iso(row.written_at) if row.written_at else None, "shop_id": row.shop_id,
        "parent_id": row.parent_id or None, "owner_id": row.owner_id, "echo_pending": row.echo_pending,
        "updated_at": iso(row.updated_at),
    }  # fmt: skip


async def section(app: web.Application) -> dict[str, Any] | None:
    """The status page's stock card; None when stock sync is off."""
    stock = app.get(STOCK_JOURNAL)
    if stock is None:
        return None
    room = app.get(STOCK)
    return {
        "running": room is not None,
        "last_run": await stock.last_run(),
        "next_run": iso(room.next_run) if room is not None else None,
        "counts": await stock.counts(),
    }


def _state(request: web.Request) -> str | None:
    state = request.query.get("state") or None
    if state is not None and state not in STATES:
        raise web.HTTPBadRequest(text=f"state must be one of {', '.join(STATES)}")
    return state


async def _items(request: web.Request) -> list[dict[str, Any]]:
    stock = request.app.get(STOCK_JOURNAL)
    if stock is None:
        raise web.HTTPNotFound(text="stock sync is switched off ([stock] enabled = false)")
    try:
        limit = max(1, min(10_000, int(request.query.get("limit", "500"))))
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a number") from None
    rows = await stock.items(state=_state(request), limit=limit, sku=request.query.get("sku") or None)
    return [item_json(r) for r in rows]


async def api_stock(request: web.Request) -> web.Response:
    items = await _items(request)
    return web.json_response({**(await section(request.app) or {}), "items": items})


async def _sync(request: web.Request, dry_run: bool, full: bool = False) -> dict[str, Any]:
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    room = request.app.get(STOCK)
    if room is None:
        raise web.HTTPConflict(text="the stock job is not running")
    summary = await room.sync(dry_run=dry_run, full=full, reason="on demand" + (" (dry run)" * dry_run))
    return {**summary.public(), "items": [vars(r) | {"quantity": str(r.quantity)} for r in summary.results]}


async def api_sync(request: web.Request) -> web.Response:
    flag = {"1", "true"}
    return web.json_response(await _sync(request, request.query.get("dry_run") in flag,
                                         request.query.get("full") in flag))


async def page(request: web.Request) -> web.Response:
    state = _state(request)
    return _render("stock.html", stock=await section(request.app), items=await _items(request), state=state,
                   states=STATES)  # fmt: skip


async def page_sync(request: web.Request) -> web.Response:
    await _sync(request, False)
    form = await request.post()
    raise web.HTTPSeeOther(_next_url(form.get("next"), "/stock"))
