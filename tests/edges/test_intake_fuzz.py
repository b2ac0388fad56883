"""A seeded fuzz run of the webhook intake: 2,400 requests, forged, unsigned, oversized, malformed, deep
and absurd. None gets a 5xx, no forged one is stored, every signed one within the size limit is."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from agent.app import JOURNAL, WEBHOOK_PATH, create_app
from agent.config import Config
from agent.woo.signature import sign

SECRET = "woo-stack-webhook-secret"
MAX_BODY = 64 * 1024
TOPICS = ["order.created", "order.updated", "order.deleted", "product.updated", "action.woocommerce_order_refunded",
          "coupon.created", "nonsense", "", "order.", ".created", "order.updated\u00e9"]  # fmt: skip
ABSURD = [1e308, -1e308, 10**400, -(10**30), "NaN", "Infinity", "-0", "1e999", None, True, [], {}, "²", "٣"]


def _json_body(rng: random.Random) -> bytes:
    order: dict[str, Any] = {"id": rng.choice([rng.randint(1, 10**6), rng.choice(ABSURD)]), "status": "processing"}
    for field in ("total", "total_tax", "discount_total", "shipping_total"):
        order[field] = rng.choice([f"{rng.uniform(-1e6, 1e6):.2f}", rng.choice(ABSURD)])
    order["line_items"] = [{"quantity": rng.choice([1, -3, 10**20, 0.5, rng.choice(ABSURD)]),
                            "price": rng.choice([9.99, rng.choice(ABSURD)])} for _ in range(rng.randint(0, 4))]  # fmt: skip
    text = json.dumps(order, default=str)
    return text.replace('"NaN"', "NaN").replace('"Infinity"', "Infinity").encode() if rng.random() < 0.3 else text.encode()


def _deep(rng: random.Random) -> bytes:
    depth = rng.choice([1_000, 3_000, 5_000, 9_000])
    return b'{"a":' * depth + b"1" + b"}" * depth if rng.random() < 0.5 else b"[" * depth + b"]" * depth


def _malformed(rng: random.Random) -> bytes:
    return rng.choice([rng.randbytes(rng.randint(0, 300)), b"{", b'{"id": 1', b"\xff\xfe{}", b"null", b"[]", b'"x"',
                       b"webhook_id=" + str(rng.randint(0, 10**40)).encode()])  # fmt: skip


def request(rng: random.Random, n: int) -> tuple[str, bytes, dict[str, str]]:
    kind = rng.choice(["signed", "signed", "deep", "malformed", "forged", "unsigned", "oversized", "ping"])
    body = {"deep": _deep, "malformed": _malformed}.get(kind, _json_body)(rng)
    if kind == "oversized":
        body = b'{"id": 1, "pad": "' + b"x" * (MAX_BODY + rng.randint(1, 5000)) + b'"}'
    if kind == "ping":
        body = f"webhook_id={rng.randint(1, 999)}".encode()
    body += f"\n/* {n} */".encode() if kind in ("signed", "malformed") else b""  # distinct bodies
    headers = {"X-WC-Webhook-Topic": rng.choice(TOPICS).encode("utf-8").decode("latin-1")}
    if kind in ("signed", "deep", "malformed", "oversized"):
        headers["X-WC-Webhook-Signature"] = sign(body, SECRET)
    elif kind == "forged":
        headers["X-WC-Webhook-Signature"] = rng.choice([sign(body, "not-the-secret"), "", "A" * 5000, "=="])
    return kind, body, headers


async def test_fuzzed_intake(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> None:
    config = make_config(server={"max_body_bytes": MAX_BODY, "unsigned_per_minute": 100_000},
                         journal={"synchronous": "NORMAL"})  # fmt: skip
    client = await aiohttp_client(create_app(config, background=False))
    rng = random.Random(20261130)
    signed_stored: set[tuple[str, bytes]] = set()
    by_kind: dict[str, int] = {}
    started = time.monotonic()
    for n in range(2_400):
        kind, body, headers = request(rng, n)
        by_kind[kind] = by_kind.get(kind, 0) + 1
        resp = await client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert resp.status < 500, (kind, resp.status, await resp.text())
        if kind in ("forged", "unsigned"):
            assert resp.status in (401, 429), (kind, resp.status)
        elif kind == "oversized":
            assert resp.status == 413
        elif kind != "ping":
            assert resp.status == 200, (kind, resp.status)
            signed_stored.add((headers["X-WC-Webhook-Topic"], body))
    assert min(by_kind.values()) > 200, by_kind
    stored = await client.app[JOURNAL].list_deliveries(limit=10_000)
    valid = {(d.topic, d.body) for d in stored if d.signature == "valid"}
    assert valid == signed_stored  # every signed one stored, no forged or unsigned one among them
    assert all(d.signature in ("valid", "unsigned_ping") for d in stored)
    assert {d.state for d in stored if d.signature == "unsigned_ping"} == {"ping"}
    assert time.monotonic() - started < 60  # the suite's budget is ~20 s; this guards against hangs only
