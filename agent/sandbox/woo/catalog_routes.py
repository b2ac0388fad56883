"""Products, variations and the stock batch endpoints of the sandbox (spec §4)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agent.sandbox.woo import catalog_writes as writes
from agent.sandbox.woo.http import json_response, paginate, read_body
from agent.sandbox.woo.keys import STATE, V3
from agent.sandbox.woo.render import customer_json, product_json, variation_json
from agent.sandbox.woo.seed import CatalogueItem
from agent.sandbox.woo.state import ShopError, ShopState

BATCH_LIMIT = 100
VARIATION_ENDPOINT = ("To manipulate product variations you should use the "
                      "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.")


def _state(request: web.Request) -> ShopState:
    return request.app[STATE]


async def list_products(request: web.Request) -> web.Response:
    state, q = _state(request), request.query
    state.count("GET products")
    # The default status "any" leaves the trash out, for SKU lookups too (real shop, 2026-11-30).
    items = [i for i in state.items.values() if (i.status == "trash") == (q.get("status") == "trash")]
    if q.get("sku"):
        wanted = set(q["sku"].split(","))  # exact match, and variations too (spec §4.3)
        if len(wanted) > 1:
            wanted.add(q["sku"])  # WC10 adds the whole string as one more SKU
        items = [i for i in items if i.product.sku in wanted]
    elif q.get("search_sku"):
        items = [i for i in items if q["search_sku"].lower() in i.product.sku.lower() and i.type != "variation"]
    else:
        items = [i for i in items if i.type != "variation"]
    if q.get("type"):
        items = [i for i in items if i.type == q["type"]]
    if q.get("include"):
        include = {int(x) for x in q["include"].split(",") if x.isdigit()}
        items = [i for i in items if i.id in include]
    items.sort(key=lambda i: i.id, reverse=True)
    return paginate(request, items, lambda i: product_json(i, state))


async def get_product(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(product_json(state.item(int(request.match_info["id"])), state))


def _product_to_write(state: ShopState, product_id: Any) -> int:
    """PUT/batch on an unknown id is a 400 (GET a 404, spec §4.3); a variation is a 404 (real shop, 2026-11-30)."""
    if not isinstance(product_id, int) or product_id not in state.items:
        raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
    if state.items[product_id].type == "variation":
        # WC10 products controller: a variation id on the products endpoint (PUT and batch; GET still works).
        raise ShopError("woocommerce_rest_invalid_product_id", VARIATION_ENDPOINT, 404)
    return product_id


async def update_product(request: web.Request) -> web.Response:
    state = _state(request)
    product_id = _product_to_write(state, int(request.match_info["id"]))
    item = state.update_product(product_id, await read_body(request))
    return json_response(product_json(item, state))


def _variation(state: ShopState, parent_id: int, variation_id: int) -> CatalogueItem:
    """Unknown, not a variation, or another parent's: 404 for GET, PUT and each batch item alike (real shop)."""
    item = state.items.get(variation_id)
    if item is None or item.type != "variation" or item.product.parent_id != parent_id:
        raise ShopError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
    return item


async def list_variations(request: web.Request) -> web.Response:
    state = _state(request)
    parent = state.item(int(request.match_info["id"]))
    variations = [state.items[v] for v in parent.variations if v in state.items]
    return paginate(request, [variation_json(v, state) for v in variations])


async def get_variation(request: web.Request) -> web.Response:
    state = _state(request)
    item = _variation(state, int(request.match_info["id"]), int(request.match_info["vid"]))
    return json_response(variation_json(item, state))


async def update_variation(request: web.Request) -> web.Response:
    state = _state(request)
    item = _variation(state, int(request.match_info["id"]), int(request.match_info["vid"]))
    return json_response(variation_json(state.update_product(item.id, await read_body(request)), state))


def _check_limit(body: dict[str, Any], limit: int) -> None:
    count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    if count > limit:
        raise ShopError("woocommerce_rest_request_entity_too_large",
                        f"Unable to accept more than {limit} items for this request.", 413)


def _item_error(item_id: Any, exc: ShopError) -> dict[str, Any]:
    return {"id": item_id, "error": {"code": exc.code, "message": exc.message, "data": {"status": exc.status}}}


async def _batch(request: web.Request, parent_id: int | None) -> web.Response:
    state, body = _state(request), await read_body(request)
    state.count("batch products" if parent_id is None else "batch variations")
    if parent_id is not None:
        state.count(f"batch variations/{parent_id}")  # one endpoint per parent
    _check_limit(body, state.batch_limit)
    out: dict[str, list[Any]] = {}
    for raw in body.get("update") or []:
        state.count("batch item")
        out.setdefault("update", []).append(_batch_update(state, parent_id, raw))
    for _raw in body.get("create") or []:
        exc = ShopError("woocommerce_rest_cannot_create", "The sandbox does not create products.", 400)
        out.setdefault("create", []).append(_item_error(0, exc))
    for raw in body.get("delete") or []:
        exc = ShopError("woocommerce_rest_cannot_delete", "The sandbox does not delete products.", 400)
        out.setdefault("delete", []).append(_item_error(raw, exc))
    return json_response(out)  # 200 even when items failed: the errors are per item


def _batch_update(state: ShopState, parent_id: int | None, raw: Any) -> dict[str, Any]:
    item_id = raw.get("id") if isinstance(raw, dict) else None
    try:
        if parent_id is None:
            return product_json(state.update_product(_product_to_write(state, item_id), raw), state)
        item = _variation(state, parent_id, item_id if isinstance(item_id, int) else -1)
        return variation_json(state.update_product(item.id, raw), state)
    except ShopError as exc:
        return _item_error(item_id, exc)


async def products_batch(request: web.Request) -> web.Response:
    return await _batch(request, None)


async def variations_batch(request: web.Request) -> web.Response:
    # An unknown parent is no error of the request: every item answers 404 on its own (real shop).
    return await _batch(request, int(request.match_info["id"]))


async def create_product(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(product_json(writes.create_product(state, await read_body(request)), state), 201)


async def create_variation(request: web.Request) -> web.Response:
    state = _state(request)
    item = writes.create_product(state, await read_body(request), int(request.match_info["id"]))
    return json_response(variation_json(item, state), 201)


async def delete_product(request: web.Request) -> web.Response:
    state = _state(request)
    pid = int(request.match_info.get("vid") or request.match_info["id"])
    force = request.query.get("force") in ("true", "1")
    body = product_json(state.item(pid), state)  # WC answers the product as it was before the delete
    writes.delete_product(state, pid, force)
    return json_response(body)


async def create_customer(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(customer_json(writes.save_customer(state, await read_body(request)), state), 201)


async def update_customer(request: web.Request) -> web.Response:
    state = _state(request)
    c = writes.save_customer(state, await read_body(request), int(request.match_info["id"]))
    return json_response(customer_json(c, state))


def add_catalog_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{V3}/products", create_product)
    r.add_post(V3 + r"/products/{id:\d+}/variations", create_variation)
    r.add_delete(V3 + r"/products/{id:\d+}", delete_product)
    r.add_delete(V3 + r"/products/{id:\d+}/variations/{vid:\d+}", delete_product)
    r.add_post(f"{V3}/customers", create_customer)
    for method in ("PUT", "PATCH", "POST"):
        r.add_route(method, V3 + r"/customers/{id:\d+}", update_customer)
    r.add_get(f"{V3}/products", list_products)
    for method in ("POST", "PUT", "PATCH"):
        r.add_route(method, f"{V3}/products/batch", products_batch)
        r.add_route(method, V3 + r"/products/{id:\d+}/variations/batch", variations_batch)
        r.add_route(method, V3 + r"/products/{id:\d+}", update_product)
        r.add_route(method, V3 + r"/products/{id:\d+}/variations/{vid:\d+}", update_variation)
    r.add_get(V3 + r"/products/{id:\d+}", get_product)
    r.add_get(V3 + r"/products/{id:\d+}/variations", list_variations)
    r.add_get(V3 + r"/products/{id:\d+}/variations/{vid:\d+}", get_variation)
