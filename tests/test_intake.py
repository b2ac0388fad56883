"""The webhook endpoint fed with every delivery captured from a real WooCommerce 10.0.2 shop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agent.app import JOURNAL, WEBHOOK_PATH, create_app
from agent.config import Config
from agent.woo.signature import sign

from .conftest import REAL_SECRET, real_deliveries  # type: ignore[import-not-found]

SKIP_HEADERS = {"host", "content-length", "connection", "accept-encoding"}


def _headers(delivery: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in delivery["headers"].items() if k.lower() not in SKIP_HEADERS}


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(make_config(), background=False))  # type: ignore[no-any-return]


async def _post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:  # type: ignore[type-arg]
    return await client.post(WEBHOOK_PATH, data=body, headers=headers)


async def test_every_captured_delivery_is_accepted_and_stored(client: TestClient, make_config) -> None:  # type: ignore[no-untyped-def,type-arg]
    deliveries = real_deliveries()
    assert len(deliveries) >= 25
    for d in deliveries:
        resp = await _post(client, d["body"], _headers(d))
        assert resp.status == 200, (d["name"], await resp.text())
    status = await (await client.get("/api/status")).json()
    pings = sum(1 for d in deliveries if "ping" in d["name"])
    assert pings == 4
    assert status["deliveries"]["ping"] == pings
    assert status["deliveries"]["rejected"] == 0
    distinct = {(d["headers"].get("X-WC-Webhook-Topic"), d["body"]) for d in deliveries}
    assert status["deliveries"]["received"] == len(distinct)
    # order 17 and 19, products 11-15 -> one work item per resource, however many deliveries
    assert status["work"]["pending"] == len({"order:17", "order:19", "product:11", "product:12", "product:13",
                                              "variation:14", "variation:15"})


async def test_work_keys_follow_the_resource(client: TestClient) -> None:  # type: ignore[type-arg]
    for d in real_deliveries():
        await _post(client, d["body"], _headers(d))
    journal = client.app[JOURNAL]
    stored = await journal.list_deliveries(limit=100)
    by_name = {(s.topic, s.resource_id): s.work_key for s in stored}
    assert by_name[("order.created", "17")] == "order:17"
    assert by_name[("action.woocommerce_order_refunded", "17")] == "order:17"
    assert by_name[("product.updated", "14")] == "variation:14"
    assert by_name[("product.updated", "11")] == "product:11"


@pytest.mark.parametrize("position", ["first", "middle", "last"])
async def test_one_byte_change_to_any_signed_body_is_rejected(client: TestClient, position: str) -> None:  # type: ignore[type-arg]
    signed = [d for d in real_deliveries() if "X-WC-Webhook-Signature" in d["headers"]]
    assert len(signed) == 21
    for d in signed:
        body = bytearray(d["body"])
        i = {"first": 0, "middle": len(body) // 2, "last": len(body) - 1}[position]
        body[i] = (body[i] + 1) % 256
        resp = await _post(client, bytes(body), _headers(d))
        assert resp.status == 401, d["name"]
    status = await (await client.get("/api/status")).json()
    assert status["deliveries"]["received"] == 0
    assert status["deliveries"]["rejected"] == len(signed)
    assert status["work"]["pending"] == 0


async def test_missing_signature_and_wrong_secret_are_rejected(client: TestClient) -> None:  # type: ignore[type-arg]
    d = next(d for d in real_deliveries() if "order-created" in d["name"])
    headers = _headers(d)
    del headers["X-WC-Webhook-Signature"]
    assert (await _post(client, d["body"], headers)).status == 401
    headers["X-WC-Webhook-Signature"] = sign(d["body"], "some-other-secret")
    assert (await _post(client, d["body"], headers)).status == 401
    status = await (await client.get("/api/status")).json()
    assert status["deliveries"]["received"] == 0 and status["deliveries"]["rejected"] == 2


async def test_duplicates_are_stored_once(client: TestClient) -> None:  # type: ignore[type-arg]
    deliveries = real_deliveries()
    for _ in range(3):
        for d in deliveries:
            assert (await _post(client, d["body"], _headers(d))).status == 200
    status = await (await client.get("/api/status")).json()
    distinct = {(d["headers"].get("X-WC-Webhook-Topic"), d["body"]) for d in deliveries}
    assert status["deliveries"]["received"] == len(distinct)
    assert status["deliveries"]["duplicates"] == 3 * len(deliveries) - len(distinct)


async def test_non_unique_delivery_id_does_not_merge_different_bodies(client: TestClient) -> None:  # type: ignore[type-arg]
    deliveries = {d["name"]: d for d in real_deliveries()}
    a, b = deliveries["00005-product-updated-11.json"], deliveries["00006-product-updated-12.json"]
    assert a["headers"]["X-WC-Webhook-Delivery-ID"] == b["headers"]["X-WC-Webhook-Delivery-ID"]
    for d in (a, b):
        assert (await _post(client, d["body"], _headers(d))).status == 200
    status = await (await client.get("/api/status")).json()
    assert status["deliveries"]["received"] == 2


def _signed(body: bytes, topic: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": sign(body, REAL_SECRET), "X-WC-Webhook-ID": "9"}


async def test_broken_json_and_unknown_topic_are_stored_and_visible(client: TestClient) -> None:  # type: ignore[type-arg]
    cases = [
        (b'{"id": 17, "status": "proc', "order.updated", "invalid_json"),
        (b'{"id": 5}', "shipment.created", "unknown_topic"),
        (b'{"action": "woocommerce_mystery", "arg": 3}', "action.woocommerce_mystery", "unknown_topic"),
        (b'{"code":"woocommerce_rest_cannot_view","message":"Sorry","data":{"status":401}}', "order.updated",
         "error_payload"),
        (b'{"id": 7, "code": "X"}', "coupon.updated", "ignored"),
    ]
    for body, topic, _ in cases:
        resp = await _post(client, body, _signed(body, topic))
        assert resp.status == 200
    journal = client.app[JOURNAL]
    stored = {d.body: d for d in await journal.list_deliveries()}
    for body, topic, state in cases:
        assert (stored[body].topic, stored[body].state) == (topic, state)
        assert stored[body].error
    status = await (await client.get("/api/status")).json()
    assert status["work"]["pending"] == 0
    assert status["deliveries"]["invalid_json"] == 1 and status["deliveries"]["unknown_topic"] == 2


async def test_body_over_limit_is_413_and_not_stored(aiohttp_client, make_config) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(make_config(server={"max_body_bytes": 2048}), background=False))
    body = b'{"id": 17, "pad": "' + b"x" * 4096 + b'"}'
    resp = await _post(client, body, _signed(body, "order.updated"))
    assert resp.status == 413
    status = await (await client.get("/api/status")).json()
    assert status["deliveries"]["received"] == 0


async def test_ping_is_answered_exactly_200_and_recorded(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await _post(client, b"webhook_id=12", {"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    pings = await client.app[JOURNAL].list_deliveries(state="ping")
    assert [p.body for p in pings] == [b"webhook_id=12"]
    assert pings[0].signature == "unsigned_ping"


async def test_the_answer_names_the_journal_row_and_whether_it_was_a_copy(client: TestClient) -> None:  # type: ignore[type-arg]
    body = b'{"id": 41, "status": "processing"}'
    first = await _post(client, body, _signed(body, "order.updated"))
    again = await _post(client, body, _signed(body, "order.updated"))
    assert first.headers["Content-Type"].startswith("application/json")
    one, two = await first.json(), await again.json()
    [stored] = await client.app[JOURNAL].list_deliveries()
    assert one == {"ok": True, "id": stored.id, "duplicate": False}
    assert two == {"ok": True, "id": stored.id, "duplicate": True}


async def test_healthz(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["ok"] is True


async def test_concurrent_burst_is_committed_before_ack(client: TestClient, make_config) -> None:  # type: ignore[no-untyped-def,type-arg]
    bodies = [b'{"id": %d, "status": "processing"}' % i for i in range(1, 201)]
    resps = await asyncio.gather(*(_post(client, b, _signed(b, "order.updated")) for b in bodies))
    assert all(r.status == 200 for r in resps)
    # read the same file through a separate connection: what was acknowledged is committed
    with sqlite3.connect(make_config().journal.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 200
        assert conn.execute("SELECT COUNT(*) FROM work_items WHERE state='pending'").fetchone()[0] == 200
