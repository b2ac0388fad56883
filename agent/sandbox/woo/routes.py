"""REST routes of the sandbox under ``/wp-json/wc/v3/`` (orders, refunds, webhooks, taxes, settings, customers)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from agent.sandbox.woo.catalog_routes import add_catalog_routes
from agent.sandbox.woo.http import error_response, json_response, paginate, read_body
from agent.sandbox.woo.keys import DISPATCHER, STATE, V3
from agent.sandbox.woo.orderjson import SITE_TZ, StoredOrder, gmt, local, render_order
from agent.sandbox.woo.refunds import render_refund
from agent.sandbox.woo.render import customer_json, settings_json, tax_json
from agent.sandbox.woo.state import ShopError, ShopState
from agent.sandbox.woo.subscriptions import add_subscription_routes
from agent.sandbox.woo.taxes import RENDER_DP
from agent.sandbox.woo.webhooks import Dispatcher, valid_topic, webhook_json


def _state(request: web.Request) -> ShopState:
    return request.app[STATE]


def _id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])


# -- orders ---------------------------------------------------------------------------------------------


def _query_time(value: str, gmt_dates: bool) -> str:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC if gmt_dates else SITE_TZ)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _listed(order: StoredOrder) -> dict[str, Any]:
    """The fields ``GET /orders`` filters and sorts on, as the rendered order shows them: a page renders
    only its own orders (rendering every order for every page made a 5,000-order list quadratic)."""
    return {"id": order.id, "status": order.status, "customer_id": order.customer_id,
            "date_created": local(order.created), "date_created_gmt": gmt(order.created),
            "date_modified": local(order.modified), "date_modified_gmt": gmt(order.modified)}  # fmt: skip


def _filter_orders(request: web.Request) -> list[StoredOrder]:
    state, q = _state(request), request.query
    gmt_dates = q.get("dates_are_gmt", "false").lower() in ("true", "1")
    suffix = "_gmt" if gmt_dates else ""
    statuses = {s for s in q.get("status", "any").split(",") if s}
    bounds = [(k, f"date_{'modified' if 'modified' in k else 'created'}{suffix}", k.endswith("after"))
              for k in ("after", "before", "modified_after", "modified_before") if q.get(k)]
    out = []
    for stored in state.orders.values():
        order = _listed(stored)
        if statuses - {"any"} and order["status"] not in statuses:
            continue
        if any(not _within(order[field], _query_time(q[key], gmt_dates), after) for key, field, after in bounds):
            continue
        if q.get("customer") and str(order["customer_id"]) != q["customer"]:
            continue
        if q.get("include") and str(order["id"]) not in q["include"].split(","):
            continue
        out.append((order, stored))
    field = {"id": "id", "modified": "date_modified_gmt"}.get(q.get("orderby", "date"), "date_created_gmt")
    out.sort(key=lambda pair: (pair[0][field], pair[0]["id"]), reverse=q.get("order", "desc") == "desc")
    return [stored for _, stored in out]


def _within(value: str, bound: str, after: bool) -> bool:
    return value > bound if after else value < bound  # exclusive, second resolution (spec §2.4)


def _broken(state: ShopState, order: dict[str, Any]) -> dict[str, Any]:
    for key, value in state.broken_orders.get(order["id"], {}).items():
        if value is None:
            order.pop(key, None)
        else:
            order[key] = value
    return order


def _deepen(resp: web.Response) -> web.Response:
    """Splice in the deep JSON a broken plugin emits (too deep for json.dumps itself)."""
    body = resp.body
    if isinstance(body, bytes) and b'"__deep__:' in body:
        resp.body = re.sub(rb'"__deep__:(\d+)"', lambda m: b"[" * int(m[1]) + b"]" * int(m[1]), body)
    return resp


def _dp(request: web.Request) -> int:
    raw = request.query.get("dp", "")
    return min(int(raw), 10) if raw.isdigit() else 2


async def list_orders(request: web.Request) -> web.Response:
    state = _state(request)
    token = RENDER_DP.set(_dp(request))
    try:
        state.count("GET orders")  # a page of the list: benchmarks count list calls per page
        shop = state.shop
        return _deepen(paginate(request, _filter_orders(request),
                                lambda o: _broken(state, render_order(o, shop, state.home))))
    finally:
        RENDER_DP.reset(token)


async def create_order(request: web.Request) -> web.Response:
    state = _state(request)
    order = state.create_order(await read_body(request))
    location = f"{state.home}wp-json/wc/v3/orders/{order.id}"
    return json_response(render_order(order, state.shop, state.home), 201, {"Location": location})


async def get_order(request: web.Request) -> web.Response:
    state = _state(request)
    state.count("GET order")
    token = RENDER_DP.set(_dp(request))  # ?dp=6: the stored 6-decimal nets and taxes
    try:
        return _deepen(json_response(_broken(state, render_order(state.order(_id(request)), state.shop, state.home))))
    finally:
        RENDER_DP.reset(token)


async def update_order(request: web.Request) -> web.Response:
    state = _state(request)
    order = state.update_order(_id(request), await read_body(request))
    return json_response(render_order(order, state.shop, state.home))


# -- refunds --------------------------------------------------------------------------------------------


def _refund_order(request: web.Request) -> int:
    order_id = _id(request)
    if order_id not in _state(request).orders:
        raise ShopError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404, bare_data=True)
    return order_id


async def list_order_refunds(request: web.Request) -> web.Response:
    state = _state(request)
    state.count("GET order refunds")
    refunds = state.order(_refund_order(request)).refunds
    return paginate(request, [render_refund(r, state.home) for r in refunds])


async def create_refund(request: web.Request) -> web.Response:
    state = _state(request)
    order_id = _refund_order(request)
    refund = state.create_refund(order_id, await read_body(request))
    # The real Location header carries the unexpanded route regex; kept for fidelity.
    location = f"{state.home}wp-json/wc/v3/orders/(?P<order_id>[\\d]+)/refunds/{refund.id}"
    return json_response(render_refund(refund, state.home), 201, {"Location": location})


async def get_refund(request: web.Request) -> web.Response:
    state = _state(request)
    refund_id = _id(request, "refund_id")
    for refund in state.order(_refund_order(request)).refunds:
        if refund.id == refund_id:
            return json_response(render_refund(refund, state.home))
    raise ShopError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)


async def list_all_refunds(request: web.Request) -> web.Response:
    state, q = _state(request), request.query
    gmt_dates = q.get("dates_are_gmt", "false").lower() in ("true", "1")
    items = [render_refund(r, state.home, with_parent=True) for r in state.refunds()]
    key = "date_created_gmt" if gmt_dates else "date_created"
    if q.get("after"):
        items = [r for r in items if r[key] > _query_time(q["after"], gmt_dates)]
    if q.get("before"):  # WP_REST_Posts_Controller's date_query, as on orders
        items = [r for r in items if r[key] < _query_time(q["before"], gmt_dates)]
    return paginate(request, items)


# -- webhooks -------------------------------------------------------------------------------------------


def _dispatcher(request: web.Request) -> Dispatcher:
    return request.app[DISPATCHER]


def _webhook(request: web.Request) -> Any:
    wh = _dispatcher(request).webhooks.get(_id(request))
    if wh is None:
        raise ShopError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    return wh


def _check_webhook_fields(body: dict[str, Any], creating: bool) -> None:
    if (creating or "topic" in body) and not valid_topic(str(body.get("topic", "")).lower()):
        raise ShopError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.")
    url = str(body.get("delivery_url", ""))
    if (creating or "delivery_url" in body) and not url.startswith(("http://", "https://")):
        raise ShopError("woocommerce_rest_webhook_invalid_delivery_url",
                        "Webhook delivery URL must be a valid URL starting with http:// or https://.")
    if body.get("status", "active") not in ("active", "paused", "disabled"):
        raise ShopError("rest_invalid_param", "Invalid parameter(s): status", 400,
                        params={"status": "status is not one of active, paused, and disabled."})


async def list_webhooks(request: web.Request) -> web.Response:
    state, status = _state(request), request.query.get("status", "all")
    hooks = sorted(_dispatcher(request).webhooks.values(), key=lambda w: w.created, reverse=True)
    return paginate(request, [webhook_json(w, state.home) for w in hooks if status in ("all", w.status)])


async def create_webhook(request: web.Request) -> web.Response:
    body, state = await read_body(request), _state(request)
    _check_webhook_fields(body, creating=True)
    secret = str(body.get("secret") or secrets.token_urlsafe(38)[:50])
    name = str(body.get("name") or f"Webhook created on {datetime.now(SITE_TZ):%b %d, %Y @ %I:%M %p}")
    wh = await _dispatcher(request).create(str(body["topic"]).lower(), str(body["delivery_url"]), secret, name,
                                           str(body.get("status", "active")))
    return json_response(webhook_json(wh, state.home), 201,
                         {"Location": f"{state.home}wp-json/wc/v3/webhooks/{wh.id}"})


async def get_webhook(request: web.Request) -> web.Response:
    return json_response(webhook_json(_webhook(request), _state(request).home))


async def update_webhook(request: web.Request) -> web.Response:
    body, wh = await read_body(request), _webhook(request)
    _check_webhook_fields(body, creating=False)
    url_changed = "delivery_url" in body and body["delivery_url"] != wh.delivery_url
    for key in ("name", "status", "delivery_url", "secret"):
        if key in body:
            setattr(wh, key, str(body[key]))
    if "topic" in body:
        wh.topic = str(body["topic"]).lower()
    await _dispatcher(request).save(wh, url_changed=url_changed)  # failure_count is NOT reset (spec §1.2)
    return json_response(webhook_json(wh, _state(request).home))


async def delete_webhook(request: web.Request) -> web.Response:
    wh = _webhook(request)
    if request.query.get("force", "false").lower() not in ("true", "1"):
        return error_response("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
    rendered = webhook_json(wh, _state(request).home)
    del _dispatcher(request).webhooks[wh.id]
    return json_response(rendered)


# -- taxes, settings, customers ---------------------------------------------------------------------------


async def list_taxes(request: web.Request) -> web.Response:
    return paginate(request, tax_json(_state(request)))


async def settings_group(request: web.Request) -> web.Response:
    items = settings_json(_state(request), request.match_info["group"])
    if items is None:
        raise ShopError("rest_setting_setting_group_invalid", "Invalid setting group.", 404)
    return json_response(items)


async def setting(request: web.Request) -> web.Response:
    items = settings_json(_state(request), request.match_info["group"]) or []
    for item in items:
        if item["id"] == request.match_info["setting"]:
            return json_response(item)
    raise ShopError("rest_setting_setting_invalid", "Invalid setting.", 404)


async def get_customer(request: web.Request) -> web.Response:
    state = _state(request)
    customer = state.customers.get(_id(request))
    if customer is None:  # WC_REST_Customers_V1_Controller on an unknown user id
        raise ShopError("wc_user_invalid_id", "Invalid user ID.", 404)
    return json_response(customer_json(customer, state))


async def list_customers(request: web.Request) -> web.Response:
    state = _state(request)
    return paginate(request, list(state.customers.values()), lambda c: customer_json(c, state))


async def no_route(request: web.Request) -> web.Response:
    return error_response("rest_no_route", "No route was found matching the URL and request method.", 404)


def add_rest_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{V3}/orders", list_orders)
    r.add_post(f"{V3}/orders", create_order)
    r.add_get(V3 + r"/orders/{id:\d+}", get_order)
    for method in ("PUT", "PATCH", "POST"):
        r.add_route(method, V3 + r"/orders/{id:\d+}", update_order)
        r.add_route(method, V3 + r"/webhooks/{id:\d+}", update_webhook)
    r.add_get(V3 + r"/orders/{id:\d+}/refunds", list_order_refunds)
    r.add_post(V3 + r"/orders/{id:\d+}/refunds", create_refund)
    r.add_get(V3 + r"/orders/{id:\d+}/refunds/{refund_id:\d+}", get_refund)
    r.add_get(f"{V3}/refunds", list_all_refunds)
    r.add_get(f"{V3}/webhooks", list_webhooks)
    r.add_post(f"{V3}/webhooks", create_webhook)
    r.add_get(V3 + r"/webhooks/{id:\d+}", get_webhook)
    r.add_delete(V3 + r"/webhooks/{id:\d+}", delete_webhook)
    r.add_get(f"{V3}/taxes", list_taxes)
    r.add_get(V3 + "/settings/{group}", settings_group)
    r.add_get(V3 + "/settings/{group}/{setting}", setting)
    r.add_get(f"{V3}/customers", list_customers)
    r.add_get(V3 + r"/customers/{id:\d+}", get_customer)
    add_catalog_routes(app)
    add_subscription_routes(app)
    r.add_route("*", "/wp-json/{tail:.*}", no_route)
