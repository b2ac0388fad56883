"""The sandbox answers and fires webhooks as a real WooCommerce 10.0.2 shop did (checked 2026-11-30).

Each test encodes what the real shop (WordPress 6.8.8, WooCommerce 10.0.2, Subscriptions 7.9.0, started with
``/work/shared/realshop/woo-up.sh``) did for the same REST calls; the observed answers and deliveries are in
``tests/fixtures/woocommerce-realcheck/``. Sandbox ids: 11 Kaffekrus (stock managed), 12 Gaveindpakning (not
managed), 13 T-shirt (variable) with variations 14 (S) and 15 (M).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.sandbox.woo import WooSandbox
from agent.woo.client import WooClient
from agent.woo.errors import WooNotFound, WooRejected
from agent.woo.models import loads

from .conftest import Receiver
from .helpers import CART_17, FIXTURES

SECRET = "agent-webhook-secret"
CHECKS = FIXTURES / "woocommerce-realcheck"
VARIATION_VIA_PRODUCTS = "woocommerce_rest_invalid_product_id"  # "To manipulate product variations you should use…"


def observed(name: str) -> Any:
    return json.loads((CHECKS / name).read_text())


def error_of(entry: dict[str, Any]) -> tuple[str, int]:
    return entry["error"]["code"], entry["error"]["data"]["status"]


async def _register(client: WooClient, receiver: Receiver, *topics: str) -> None:
    for topic in topics:
        await client.create_webhook(topic=topic, delivery_url=f"{receiver.url}/{topic}", secret=SECRET)


def _topics(receiver: Receiver) -> list[tuple[str, int]]:
    return [(d.headers["X-WC-Webhook-Topic"], loads(d.body)["id"]) for d in receiver.deliveries()]


# -- 1. stock writes ----------------------------------------------------------------------------------------------


async def test_products_batch_refuses_a_variation_and_reports_unknown_ids(client: WooClient,
                                                                          sandbox: WooSandbox) -> None:
    """Real: a variation id in ``products/batch`` is a per-item 404 ``woocommerce_rest_invalid_product_id`` and its
    stock stays; an unknown id is ``woocommerce_rest_product_invalid_id`` with status 400; the answer is 200."""
    real = observed("products-batch.json")
    assert [error_of(e) for e in real["response"]["update"] if "error" in e] == [
        ("woocommerce_rest_product_invalid_id", 400), (VARIATION_VIA_PRODUCTS, 404)]
    body = await client.request("POST", "products/batch", json={"update": [
        {"id": 11, "stock_quantity": 48}, {"id": 99999, "stock_quantity": 5}, {"id": 12, "stock_quantity": 7},
        {"id": 14, "stock_quantity": 19}]})
    answers = body["update"]
    assert [a["id"] for a in answers] == [11, 99999, 12, 14]
    assert error_of(answers[1]) == ("woocommerce_rest_product_invalid_id", 400)
    assert error_of(answers[3]) == (VARIATION_VIA_PRODUCTS, 404)
    assert answers[2]["manage_stock"] is False and answers[2]["stock_quantity"] is None
    assert (sandbox.stock(11), sandbox.stock(14)) == (48, 8)


async def test_single_put_of_a_variation_on_the_products_endpoint_is_refused(client: WooClient,
                                                                            sandbox: WooSandbox) -> None:
    """Real: ``PUT products/<variation id>`` → 404 ``woocommerce_rest_invalid_product_id``; ``GET`` works."""
    with pytest.raises(WooNotFound) as info:
        await client.request("PUT", "products/14", json={"stock_quantity": 3})
    assert info.value.code == VARIATION_VIA_PRODUCTS and sandbox.stock(14) == 8
    assert (await client.request("GET", "products/14"))["type"] == "variation"


async def test_variations_batch_unknown_or_foreign_ids_are_404_per_item(client: WooClient,
                                                                       sandbox: WooSandbox) -> None:
    """Real: unknown id and a simple product's id in ``variations/batch`` are per-item 404
    ``woocommerce_rest_product_variation_invalid_id``; an unknown parent still answers 200 with per-item errors."""
    real = observed("variations-batch.json")
    assert [error_of(e) for e in real["response"]["update"] if "error" in e] == [
        ("woocommerce_rest_product_variation_invalid_id", 404)] * 2
    body = await client.request("POST", "products/13/variations/batch", json={"update": [
        {"id": 14, "stock_quantity": 18}, {"id": 99999, "stock_quantity": 5}, {"id": 11, "stock_quantity": 3}]})
    assert body["update"][0]["stock_quantity"] == 18
    assert [error_of(e) for e in body["update"][1:]] == [("woocommerce_rest_product_variation_invalid_id", 404)] * 2
    orphan = await client.request("POST", "products/99999/variations/batch",
                                  json={"update": [{"id": 14, "stock_quantity": 1}]})
    assert [error_of(e) for e in orphan["update"]] == [("woocommerce_rest_product_variation_invalid_id", 404)]
    with pytest.raises(WooNotFound):
        await client.request("PUT", "products/13/variations/99999", json={"stock_quantity": 1})
    assert (sandbox.stock(11), sandbox.stock(14)) == (50, 18)


async def test_variation_stock_write_fires_product_updated_for_the_variation_only(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    """Real: one ``product.updated`` per written item — the variation's own id, product-shaped, type variation —
    and none for the parent; an unmanaged simple product is saved and delivered too."""
    real = observed("variation-product-updated.json")
    assert real["headers"]["X-WC-Webhook-Topic"] == "product.updated" and json.loads(real["body"])["type"] == (
        "variation")
    await _register(client, receiver, "product.updated", "product.created")
    await client.request("POST", "products/13/variations/batch", json={"update": [
        {"id": 14, "stock_quantity": 18}, {"id": 15, "stock_quantity": 16}]})
    await client.request("POST", "products/batch", json={"update": [{"id": 12, "stock_quantity": 7}]})
    await sandbox.flush()
    assert sorted(_topics(receiver)) == [("product.updated", 12), ("product.updated", 14), ("product.updated", 15)]
    payload = loads(receiver.deliveries()[0].body)
    assert set(payload) == set(json.loads(real["body"]))


# -- 2. product and customer webhooks -----------------------------------------------------------------------------


async def test_new_variation_fires_product_created_for_it_and_nothing_for_the_parent(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    """Real: ``POST products/14/variations`` → ``product.created`` for the variation only (no parent update)."""
    await _register(client, receiver, "product.created", "product.updated")
    made = await client.request("POST", "products/13/variations", json={
        "regular_price": "199.00", "sku": "TSHIRT-XL", "attributes": [{"name": "Størrelse", "option": "L"}]})
    await sandbox.flush()
    assert _topics(receiver) == [("product.created", made["id"])]


async def test_trash_answers_the_product_as_it_was_and_force_delete_fires_nothing(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    """Real: trash → ``product.deleted`` with ``{"id": N}`` and the answer still says ``publish``; ``force=true``
    (from the trash or straight away, product or variation) fires no webhook at all."""
    real = observed("product-deleted.json")
    assert real["body"] == '{"id":19}'
    await _register(client, receiver, "product.deleted", "product.updated")
    made = await client.request("POST", "products", json={"name": "Termokop", "sku": "TERMO", "regular_price": "1"})
    trashed = await client.request("DELETE", f"products/{made['id']}")
    assert trashed["status"] == "publish"
    await sandbox.flush()
    assert [d.body for d in receiver.deliveries()] == [f'{{"id":{made["id"]}}}'.encode()]
    forced = await client.request("DELETE", f"products/{made['id']}", params={"force": "true"})
    assert forced["status"] == "trash"
    await client.request("DELETE", "products/12", params={"force": "true"})
    await client.request("DELETE", "products/13/variations/15", params={"force": "true"})
    await sandbox.flush()
    assert len(receiver.deliveries()) == 1


async def test_new_customer_fires_created_and_updated_with_an_empty_shipping_address(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    """Real: ``POST customers`` → ``customer.created`` and ``customer.updated``; the shipping address the REST call
    did not give is empty (all keys, with ``phone``), not the billing address; not yet a paying customer."""
    real = json.loads(observed("customer-created.json")["body"])
    await _register(client, receiver, "customer.created", "customer.updated")
    made = await client.request("POST", "customers", json={
        "email": "rikke@example.dk", "first_name": "Rikke", "last_name": "Ck",
        "billing": {"first_name": "Rikke", "last_name": "Ck", "address_1": "Gade 1", "city": "Odense",
                    "postcode": "5000", "country": "DK", "email": "rikke@example.dk", "phone": "12345678"}})
    await sandbox.flush()
    assert sorted(_topics(receiver)) == [("customer.created", made["id"]), ("customer.updated", made["id"])]
    payload = loads(receiver.deliveries("customer.created")[0].body)
    assert payload["shipping"] == real["shipping"] == dict.fromkeys(real["shipping"], "")
    assert list(payload["billing"]) == list(real["billing"])
    assert payload["is_paying_customer"] is real["is_paying_customer"] is False


async def test_unknown_customer_and_duplicate_email_errors(client: WooClient) -> None:
    """Real: ``GET``/``PUT customers/99999`` → 404 ``wc_user_invalid_id`` "Invalid user ID."; a second account with
    the same email → 400 ``registration-error-email-exists`` naming the address."""
    for method in ("GET", "PUT"):
        with pytest.raises(WooNotFound) as info:
            await client.request(method, "customers/99999", json={"first_name": "x"} if method == "PUT" else None)
        assert (info.value.code, str(info.value.message)) == ("wc_user_invalid_id", "Invalid user ID.")
    with pytest.raises(Exception) as dup:
        await client.request("POST", "customers", json={"email": "mette.hansen@example.dk"})
    assert getattr(dup.value, "code", None) == "registration-error-email-exists"
    assert "mette.hansen@example.dk" in str(getattr(dup.value, "message", ""))


# -- 4. refunds and stock ----------------------------------------------------------------------------------------


def _line_meta(order: dict[str, Any], product_id: int) -> dict[str, str]:
    line = next(x for x in order["line_items"] if x["product_id"] == product_id and not x["variation_id"])
    return {m["key"]: m["value"] for m in line["meta_data"]}


async def _refund_one_mug(client: WooClient, order_id: int, restock: bool) -> None:
    order = await client.request("GET", f"orders/{order_id}")
    mug = next(x for x in order["line_items"] if x["product_id"] == 11)
    await client.request("POST", f"orders/{order_id}/refunds", json={
        "amount": "89.10", "api_refund": False, "api_restock": restock,
        "line_items": [{"id": mug["id"], "quantity": 1, "refund_total": "71.28",
                        "refund_tax": [{"id": 1, "refund_total": "17.82"}]}]})


async def test_restock_refund_lowers_reduced_stock_and_cancel_restores_only_the_rest(
        client: WooClient, sandbox: WooSandbox) -> None:
    """Real (wc_restock_refunded_items): restocking one of two mugs sets ``_reduced_stock`` 2 → 1 and
    ``_restock_refunded_items`` 1; cancelling the order afterwards gives back the one left, not two."""
    real = observed("refund-restock.json")
    assert real["line_meta_after_refund"] == {"_reduced_stock": "1", "_restock_refunded_items": "1"}
    order = sandbox.create_order({**CART_17, "set_paid": True})
    assert sandbox.stock(11) == 48
    await _refund_one_mug(client, order["id"], restock=True)
    assert sandbox.stock(11) == 49
    assert _line_meta(await client.request("GET", f"orders/{order['id']}"), 11) == real["line_meta_after_refund"]
    await client.request("PUT", f"orders/{order['id']}", json={"status": "cancelled"})
    assert sandbox.stock(11) == 50
    assert _line_meta(await client.request("GET", f"orders/{order['id']}"), 11) == real["line_meta_after_cancel"]


async def test_restock_refund_of_an_order_that_never_took_stock_restocks_nothing(
        client: WooClient, sandbox: WooSandbox) -> None:
    """Real: a pending order (no ``_reduced_stock``) refunded with ``api_restock`` true leaves the stock as it is;
    ``api_restock`` false never restocks."""
    pending = sandbox.create_order(CART_17)
    await _refund_one_mug(client, pending["id"], restock=True)
    assert sandbox.stock(11) == 50
    paid = sandbox.create_order({**CART_17, "set_paid": True})
    await _refund_one_mug(client, paid["id"], restock=False)
    assert sandbox.stock(11) == 48
    assert _line_meta(await client.request("GET", f"orders/{paid['id']}"), 11) == {"_reduced_stock": "2"}


async def test_new_variation_payload_has_wordpress_slugs_and_its_parent_link(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    """Real ``product.created`` of "T-shirt - L": slug ``t-shirt-l`` (sanitize_title: accents off, one dash),
    attribute slug ``storrelse`` for "Størrelse", and an ``up`` link to the parent."""
    real = json.loads(observed("variation-created.json")["body"])
    await _register(client, receiver, "product.created")
    made = await client.request("POST", "products/13/variations", json={
        "regular_price": "199.00", "sku": "TSHIRT-XL", "attributes": [{"name": "Størrelse", "option": "L"}]})
    await sandbox.flush()
    payload = loads(receiver.deliveries()[0].body)
    assert (payload["name"], payload["slug"]) == (real["name"], real["slug"]) == ("T-shirt - L", "t-shirt-l")
    assert payload["attributes"] == real["attributes"]
    assert list(payload["_links"]) == list(real["_links"])
    assert payload["_links"]["up"] == [{"href": f"{sandbox.base_url}wp-json/wc/v3/products/13"}]
    assert made["attributes"] == real["attributes"]


async def test_a_trashed_product_is_not_listed_and_cannot_be_trashed_twice(client: WooClient) -> None:
    """Real: after ``DELETE products/<id>`` (trash) ``GET products/<id>`` still answers (status ``trash``) but
    ``GET products?sku=`` and the plain listing no longer show it; a second trash is 410
    ``woocommerce_rest_already_trashed``; after ``force=true`` the id is a 404."""
    await client.request("DELETE", "products/11")
    assert (await client.request("GET", "products/11"))["status"] == "trash"
    assert await client.request("GET", "products", params={"sku": "KRUS-001"}) == []
    assert 11 not in [p["id"] for p in await client.request("GET", "products")]
    with pytest.raises(WooRejected) as info:
        await client.request("DELETE", "products/11")
    assert (info.value.code, info.value.status) == ("woocommerce_rest_already_trashed", 410)
    await client.request("DELETE", "products/11", params={"force": "true"})
    with pytest.raises(WooNotFound):
        await client.request("GET", "products/11")
