"""Inspection and control API of the sandbox (``/_sandbox/…``, JSON, no auth: loopback only).

GET  /_sandbox/documents          invoices and credit notes with lines and totals
GET  /_sandbox/stock              stock per product
GET  /_sandbox/tables/{table}     every row of a table
GET  /_sandbox/sent               invoices "sent" by send_debtor_invoice
GET  /_sandbox/state              the whole store as :meth:`Store.dumps` writes it (``Store.loads`` reads it)
GET  /_sandbox/calls              {"calls": {"<method>/<name>": n}, "requests": n}: the request log by method
POST /_sandbox/products           {"product_id_", "name", "price", "stocked", "in_stock"} or a list
POST /_sandbox/stock              {"<product number>": "<in_stock>", …} (goods received) or
                                  {"<product number>": {"in_stock": "…", "in_order": "…"}} (reserved, A-35)
GET  /_sandbox/faults             fault configuration, forced faults, injected counts
POST /_sandbox/faults             {"config": {...}, "force": [{"kind", "times", "method", "name"}], "clear": true}
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from agent.dynaccount import assumptions as A

from .schema import SCHEMA
from .seed import add_product, set_stock
from .server import CALLS, FAULTS, STATS, STORE
from .store import Store


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/documents", documents)
    app.router.add_get("/_sandbox/stock", stock)
    app.router.add_get("/_sandbox/tables/{table}", table_rows)
    app.router.add_get("/_sandbox/sent", sent)
    app.router.add_get("/_sandbox/state", state)
    app.router.add_get("/_sandbox/calls", calls)
    app.router.add_post("/_sandbox/products", products)
    app.router.add_post("/_sandbox/stock", set_stock_levels)
    app.router.add_get("/_sandbox/faults", faults_get)
    app.router.add_post("/_sandbox/faults", faults_post)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def document_view(store: Store) -> dict[str, list[dict[str, Any]]]:
    def with_lines(table: str, line_table: str, column: str) -> list[dict[str, Any]]:
        return [
            {**store.render(table, row),
             "lines": [store.render(line_table, ln) for ln in store.where(line_table, column, row["id"])]}
            for row in store.tables[table].values()
        ]  # fmt: skip

    return {
        "invoices": with_lines(A.INVOICE_TABLE, A.INVOICE_LINE_TABLE, "invoice_id"),
        "creditnotes": with_lines(A.CREDITNOTE_TABLE, A.CREDITNOTE_LINE_TABLE, "creditnote_id"),
    }


async def documents(request: web.Request) -> web.Response:
    return web.json_response(document_view(request.app[STORE]))


async def stock(request: web.Request) -> web.Response:
    store = request.app[STORE]
    columns = ("product_id_", "name", "is_stocked", "in_stock", "in_order", "time_stock_change")
    rows = [store.render("product", p, columns) for p in store.tables["product"].values()]
    return web.json_response(rows)


async def table_rows(request: web.Request) -> web.Response:
    table = request.match_info["table"]
    if table not in SCHEMA:
        return web.json_response({"error": f"unknown table {table!r}"}, status=404)
    store = request.app[STORE]
    return web.json_response([store.render(table, r) for r in store.tables[table].values()])


async def sent(request: web.Request) -> web.Response:
    return web.json_response(request.app[STORE].sent)


async def state(request: web.Request) -> web.Response:
    """The store for a checker in another process (a bench's books check against a sandbox run as a child)."""
    return web.Response(text=request.app[STORE].dumps(), content_type="application/json")


async def calls(request: web.Request) -> web.Response:
    """Every API request received by ``method/name`` (answered or not), as :attr:`SandboxHandle.calls`."""
    log: Counter[str] = request.app[CALLS]
    return web.json_response({"calls": dict(log), "requests": request.app[STATS]["requests"]})


async def products(request: web.Request) -> web.Response:
    payload = await request.json()
    items = payload if isinstance(payload, list) else [payload]
    store = request.app[STORE]
    try:
        for item in items:
            add_product(
                store, str(item["product_id_"]), str(item.get("name") or item["product_id_"]),
                Decimal(str(item.get("price", "0"))), stocked=bool(item.get("stocked", True)),
                in_stock=Decimal(str(item.get("in_stock", "0"))),
            )  # fmt: skip
    except (KeyError, InvalidOperation) as exc:
        return _bad(f"bad product: {exc!r}")
    store.persist()
    return web.json_response({"ok": len(items)})


async def set_stock_levels(request: web.Request) -> web.Response:
    payload = await request.json()
    store = request.app[STORE]
    try:
        for number, level in dict(payload).items():
            if isinstance(level, dict):
                set_stock(store, str(number), _opt_decimal(level.get("in_stock")), _opt_decimal(level.get("in_order")))
            else:
                set_stock(store, str(number), Decimal(str(level)))
    except (KeyError, InvalidOperation) as exc:
        return _bad(f"unknown product or bad level: {exc!r}")
    store.persist()
    return web.json_response({"ok": len(payload)})


def _opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def faults_get(request: web.Request) -> web.Response:
    return web.json_response({**request.app[FAULTS].state(), "stats": request.app[STATS]})


async def faults_post(request: web.Request) -> web.Response:
    payload = await request.json()
    injector = request.app[FAULTS]
    try:
        if payload.get("clear"):
            injector.clear()
        injector.config.update(payload.get("config") or {})
        if "seed" in (payload.get("config") or {}):
            injector.reseed()
        for item in payload.get("force") or []:
            injector.force(item["kind"], times=int(item.get("times", 1)), method=item.get("method"),
                           name=item.get("name"))  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        return _bad(str(exc))
    return web.json_response(injector.state())
