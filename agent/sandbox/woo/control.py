"""Control API of the sandbox, over HTTP under ``/__sandbox/`` (no auth: a loopback test/demo tool).

=================================  ===========================================================
``GET  /__sandbox/``               summary: orders (id, status, total), stock, webhooks
``GET  /__sandbox/stock``          ``{product id: stock_quantity}`` for items managing stock
``POST /__sandbox/orders``         create an order (body = the REST ``POST /orders`` body)
``POST /__sandbox/orders/{id}/advance``  ``{"status": …}`` or the next usual status
``POST /__sandbox/orders/{id}/refund``   a REST refund body, or ``{"full": true}``
``POST /__sandbox/products/{id}``  change ``stock_quantity``/``regular_price``/``sku``/``name``
``POST /__sandbox/catalogue``    ``{"woocommerce_manage_stock": "yes"|"no", "batch_limit": n,
                                   "refuse": {"<id>": {"code", "message", "status"}}, "clear_refuse": true,
                                   "reset_calls": true}``; ``GET`` shows them and the REST call counts
``POST /__sandbox/deliveries``     ``{"drop_next": n, "topic": t, "delay": s, "hold": bool}``
``GET  /__sandbox/deliveries``     the delivery log (status -1 = dropped, 0 = transport error)
``POST /__sandbox/flush``          deliver everything queued now
=================================  ===========================================================
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent.sandbox.woo.http import json_response, shop_error
from agent.sandbox.woo.keys import DISPATCHER, STATE
from agent.sandbox.woo.orderjson import render_order
from agent.sandbox.woo.refunds import full_refund_payload, render_refund
from agent.sandbox.woo.render import product_json
from agent.sandbox.woo.state import ShopError
from agent.sandbox.woo.taxes import fmt_money

PREFIX = "/__sandbox"


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {}


def summary(app: web.Application) -> dict[str, Any]:
    state, dispatcher = app[STATE], app[DISPATCHER]
    return {
        "home": state.home,
        "orders": [{"id": o.id, "status": o.status, "total": fmt_money(o.checkout.total),
                    "refunded": fmt_money(o.refunded_total)} for o in state.orders.values()],
        "stock": state.stock_levels(),
        "webhooks": [{"id": w.id, "topic": w.topic, "status": w.status, "delivery_url": w.delivery_url,
                      "failure_count": w.failure_count} for w in dispatcher.webhooks.values()],
        "queued": len(dispatcher._queue),
    }


async def get_summary(request: web.Request) -> web.Response:
    return json_response(summary(request.app))


async def get_stock(request: web.Request) -> web.Response:
    return json_response(request.app[STATE].stock_levels())


async def post_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    order = state.create_order(await _json(request))
    return json_response(render_order(order, state.shop, state.home), 201)


async def advance(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json(request)
    order = state.advance(int(request.match_info["id"]), body.get("status"))
    return json_response(render_order(order, state.shop, state.home))


async def refund(request: web.Request) -> web.Response:
    state = request.app[STATE]
    order_id = int(request.match_info["id"])
    body = await _json(request)
    if body.get("full"):
        body = full_refund_payload(state.order(order_id), reason=str(body.get("reason", "")))
    return json_response(render_refund(state.create_refund(order_id, body), state.home), 201)


async def change_product(request: web.Request) -> web.Response:
    state = request.app[STATE]
    item = state.update_product(int(request.match_info["id"]), await _json(request))
    return json_response(product_json(item, state))


def _catalogue(app: web.Application) -> dict[str, Any]:
    state = app[STATE]
    return {"woocommerce_manage_stock": "yes" if state.manage_stock_option else "no", "batch_limit": state.batch_limit,
            "refuse": {str(k): {"code": c, "message": m, "status": s} for k, (c, m, s) in state.refuse.items()},
            "calls": dict(state.calls)}


async def get_catalogue(request: web.Request) -> web.Response:
    return json_response(_catalogue(request.app))


async def set_catalogue(request: web.Request) -> web.Response:
    """Shop settings a test or the demo needs to change: the global stock option, the batch limit filter,
    items whose writes fail (a plugin refusing, a locked product)."""
    state, body = request.app[STATE], await _json(request)
    if "woocommerce_manage_stock" in body:
        state.manage_stock_option = body["woocommerce_manage_stock"] == "yes"
    if "batch_limit" in body:
        state.batch_limit = int(body["batch_limit"])
    if body.get("clear_refuse"):
        state.refuse.clear()
    for key, err in (body.get("refuse") or {}).items():
        state.refuse[int(key)] = (str(err.get("code", "woocommerce_rest_cannot_edit")),
                                  str(err.get("message", "Sorry, you are not allowed to edit this resource.")),
                                  int(err.get("status", 400)))
    if body.get("reset_calls"):
        state.calls.clear()
    return json_response(_catalogue(request.app))


async def set_deliveries(request: web.Request) -> web.Response:
    dispatcher, body = request.app[DISPATCHER], await _json(request)
    if "drop_next" in body:
        dispatcher.drop_next(int(body["drop_next"]), body.get("topic"))
    if "delay" in body:
        dispatcher.delay = float(body["delay"])
    if "hold" in body:
        dispatcher.hold() if body["hold"] else dispatcher.release()
    return json_response(summary(request.app))


async def get_deliveries(request: web.Request) -> web.Response:
    return json_response([{"webhook_id": d.webhook_id, "topic": d.topic, "arg": d.arg, "delivery_id": d.delivery_id,
                           "status": d.status} for d in request.app[DISPATCHER].log])


async def flush(request: web.Request) -> web.Response:
    await request.app[DISPATCHER].flush()
    return json_response(summary(request.app))


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)  # type: ignore[no-any-return]
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except ShopError as exc:
        return shop_error(exc)


def add_control_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/", get_summary)
    r.add_get(f"{PREFIX}/stock", get_stock)
    r.add_post(f"{PREFIX}/orders", post_order)
    r.add_post(PREFIX + r"/orders/{id:\d+}/advance", advance)
    r.add_post(PREFIX + r"/orders/{id:\d+}/refund", refund)
    r.add_post(PREFIX + r"/products/{id:\d+}", change_product)
    r.add_get(f"{PREFIX}/catalogue", get_catalogue)
    r.add_post(f"{PREFIX}/catalogue", set_catalogue)
    r.add_post(f"{PREFIX}/deliveries", set_deliveries)
    r.add_get(f"{PREFIX}/deliveries", get_deliveries)
    r.add_post(f"{PREFIX}/flush", flush)
