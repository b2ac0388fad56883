"""Sandbox webhooks behave like WooCommerce's and verify with the agent's ``verify()``."""

from __future__ import annotations

import json

from agent.sandbox.woo import WooSandbox
from agent.woo.client import WooClient
from agent.woo.models import Order, loads
from agent.woo.signature import verify

from .conftest import Receiver
from .helpers import CART_17, FIXTURES, REAL

SECRET = "agent-webhook-secret"
REAL_HTTP_VERSION = json.loads((FIXTURES / "woocommerce-realcheck" / "variation-product-updated.json").read_text())[
    "http_version"].removeprefix("HTTP/")
SEVEN = ("X-WC-Webhook-Source", "X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
         "X-WC-Webhook-Signature", "X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID")


async def _register(client: WooClient, receiver: Receiver, *topics: str) -> None:
    for topic in topics:
        await client.create_webhook(topic=topic, delivery_url=f"{receiver.url}/{topic}", secret=SECRET)


async def test_ping_on_creation_is_form_encoded_and_unsigned(client: WooClient, receiver: Receiver) -> None:
    hook = await client.create_webhook(topic="order.updated", delivery_url=receiver.url, secret=SECRET)
    [ping] = receiver.pings()
    real = json.loads((REAL / "webhooks" / "00001-ping.json").read_text())
    assert ping.body == f"webhook_id={hook.id}".encode()
    assert ping.headers["Content-Type"] == real["headers"]["Content-Type"]
    assert ping.headers["User-Agent"] == real["headers"]["User-Agent"]
    assert not any(h.startswith("X-WC-") for h in ping.headers)
    listed = await client.list_webhooks()
    assert [w.topic for w in listed] == ["order.updated"] and listed[0].hooks == [
        "woocommerce_update_order", "woocommerce_order_refunded"]


async def test_order_deliveries_are_signed_escaped_and_built_at_delivery(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    await _register(client, receiver, "order.created", "order.updated")
    sandbox.hold()  # a slow WP-Cron: the status change lands before anything is sent
    order = await client.create_order(CART_17)
    await client.update_order(order.id, {"status": "processing"})
    await sandbox.flush()
    created, updated = receiver.deliveries("order.created"), receiver.deliveries("order.updated")
    assert len(created) == 1 and len(updated) == 1  # two saves of one order coalesce into one delivery
    for delivery in created + updated:
        assert all(h in delivery.headers for h in SEVEN)
        # WordPress 6.8 passes no protocol version to Requests 2, whose default is 1.1: the real shop's deliveries
        # arrived as HTTP/1.1 with "Connection: close" (tests/fixtures/woocommerce-realcheck/*.json http_version).
        assert delivery.headers["Content-Type"] == "application/json" and delivery.version == REAL_HTTP_VERSION
        assert delivery.headers["Connection"] == "close" and "Content-Length" in delivery.headers
        assert verify(delivery.body, delivery.headers["X-WC-Webhook-Signature"], SECRET)
        assert b"\\/" in delivery.body and b"\\u00f8" in delivery.body and b" " not in delivery.body[:20]
    body = Order.model_validate(loads(created[0].body))
    assert body.status == "processing"  # payload built at delivery time (spec §1.6)
    assert created[0].headers["X-WC-Webhook-Source"] == sandbox.base_url


async def test_delivery_ids_repeat_within_one_second(client: WooClient, sandbox: WooSandbox,
                                                     receiver: Receiver) -> None:
    await _register(client, receiver, "product.updated")
    sandbox.hold()
    sandbox.set_product(11, stock_quantity=10)
    sandbox.set_product(12, regular_price="30.00")
    await sandbox.flush()
    ids = {d.headers["X-WC-Webhook-Delivery-ID"] for d in receiver.deliveries()}
    assert len(receiver.deliveries()) == 2 and len(ids) == 1


async def test_refund_arrives_as_order_updated_and_action(client: WooClient, sandbox: WooSandbox,
                                                          receiver: Receiver) -> None:
    order = sandbox.create_order({**CART_17, "set_paid": True})
    await _register(client, receiver, "order.updated", "action.woocommerce_order_refunded")
    await client.create_refund(order["id"], {"amount": "10.00"})
    await sandbox.flush()
    [updated] = receiver.deliveries("order.updated")
    [action] = receiver.deliveries("action.woocommerce_order_refunded")
    assert loads(updated.body)["refunds"][0]["total"] == "-10.00"
    assert action.body == f'{{"action":"woocommerce_order_refunded","arg":{order["id"]}}}'.encode()
    assert action.headers["X-WC-Webhook-Event"] == "woocommerce_order_refunded"


async def test_failures_disable_after_the_seventh_and_3xx_counts_as_success(
        client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    await _register(client, receiver, "product.updated")
    receiver.status = 302
    sandbox.set_product(11, stock_quantity=1)
    await sandbox.flush()
    assert sandbox.dispatcher.webhooks[1].failure_count == 0
    receiver.status = 500
    for n in range(7):
        sandbox.set_product(11, stock_quantity=n)
        await sandbox.flush()
    assert [w.status for w in await client.list_webhooks()] == ["disabled"]
    sandbox.set_product(11, stock_quantity=99)
    await sandbox.flush()
    assert len(receiver.deliveries()) == 8  # nothing is sent (or queued) while disabled
    await client.update_webhook(1, status="active")
    sandbox.set_product(11, stock_quantity=98)
    await sandbox.flush()
    assert (await client.list_webhooks())[0].status == "disabled"  # failure_count survived re-activation


async def test_drop_and_delay_controls(client: WooClient, sandbox: WooSandbox, receiver: Receiver) -> None:
    await _register(client, receiver, "product.updated")
    sandbox.drop_next(1)
    sandbox.set_product(11, stock_quantity=5)
    await sandbox.flush()
    assert receiver.deliveries() == [] and sandbox.deliveries[-1].status == -1
    sandbox.set_delay(0.05)
    sandbox.set_product(11, stock_quantity=6)
    await sandbox.wait_idle()
    assert len(receiver.deliveries()) == 1 and loads(receiver.deliveries()[0].body)["stock_quantity"] == 6


async def test_safe_url_rule_rejects_loopback(receiver: Receiver, session) -> None:
    from agent.sandbox.woo import running_woo_sandbox

    from .conftest import CK, CS
    async with running_woo_sandbox(CK, CS, safe_urls=True) as shop:
        client = WooClient(session, base_url=shop.base_url, consumer_key=CK, consumer_secret=CS)
        await client.create_webhook(topic="product.updated", delivery_url=receiver.url, secret=SECRET)
        shop.set_product(11, stock_quantity=3)
        await shop.flush()
        assert receiver.requests == [] and shop.deliveries[0].status == 0
