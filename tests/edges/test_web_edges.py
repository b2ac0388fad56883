"""The HTTP edge against hostile input: foreign hosts, cross-site posts, deep JSON, ping floods, stalls."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agent.app import HTTP_SHUTDOWN_SECONDS, JOURNAL, WEBHOOK_PATH, WORKER_GRACE_SECONDS, create_app, runner_options
from agent.config import Config
from agent.woo.signature import sign

REAL_SECRET = "woo-stack-webhook-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> TestClient:  # type: ignore[type-arg]
    return await aiohttp_client(create_app(make_config(), background=False))  # type: ignore[no-any-return]


def signed(body: bytes, topic: str = "order.updated") -> dict[str, str]:
    return {"X-WC-Webhook-Signature": sign(body, REAL_SECRET), "X-WC-Webhook-Topic": topic,
            "Content-Type": "application/json"}  # fmt: skip


# -- item 3: deep JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
async def test_deeply_nested_signed_json_is_stored_and_marked(client: TestClient, depth: int) -> None:  # type: ignore[type-arg]
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        resp = await client.post(WEBHOOK_PATH, data=body, headers=signed(body))
        assert resp.status == 200, await resp.text()
        stored = await client.app[JOURNAL].list_deliveries(limit=1)
        assert stored[0].body == body and stored[0].state == "invalid_json"
        assert "nested too deeply" in (stored[0].error or "")


# -- item 4: the unsigned ping ----------------------------------------------------------------------


async def test_unsigned_ping_stores_only_id_and_time(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.post(WEBHOOK_PATH, data=b"webhook_id=7",
                             headers={"X-Secret-Looking": "x" * 4000, "User-Agent": "WooCommerce"})  # fmt: skip
    assert resp.status == 200
    (ping,) = await client.app[JOURNAL].list_deliveries(limit=5)
    assert ping.state == "ping" and ping.resource_id == "7" and ping.body == b"webhook_id=7" and ping.headers == {}
    # a "ping" of a megabyte of digits is no ping: refused, nothing written
    big = b"webhook_id=" + b"1" * 1_000_000
    resp = await client.post(WEBHOOK_PATH, data=big)
    assert resp.status == 401
    assert len(await client.app[JOURNAL].list_deliveries(limit=5)) == 1


async def test_unsigned_requests_are_rate_limited(aiohttp_client: Callable[..., Any],
                                                  make_config: Callable[..., Config]) -> None:  # fmt: skip
    client = await aiohttp_client(create_app(make_config(server={"unsigned_per_minute": 5}), background=False))
    codes = [(await client.post(WEBHOOK_PATH, data=f"webhook_id={i}".encode())).status for i in range(1, 12)]
    assert codes == [200] * 5 + [429] * 6
    assert len(await client.app[JOURNAL].list_deliveries(limit=50)) == 5
    body = b'{"id": 5}'  # a signed delivery is never limited
    assert (await client.post(WEBHOOK_PATH, data=body, headers=signed(body))).status == 200


# -- item 5: host names, same-origin proof, headers, optional login ----------------------------------


async def test_foreign_host_gets_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/", "/api/status", "/api/work", "/healthz"):
        resp = await client.get(path, headers={"Host": "evil.example"})
        assert resp.status == 421, path
        assert "deliveries" not in await resp.text()
        assert (await client.get(path, headers={"Host": "localhost:8787"})).status == 200
    # the signed webhook path answers whatever name the shop's reverse proxy forwards
    body = b'{"id": 9}'
    resp = await client.post(WEBHOOK_PATH, data=body, headers={**signed(body), "Host": "shop.example.dk"})
    assert resp.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin at all
        {"Host": "evil.example", "Origin": "http://evil.example"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "SELF"},
        {"Sec-Fetch-Site": "same-site", "Origin": "SELF"},
    ],
)
async def test_state_changing_requests_need_same_origin_proof(client: TestClient, headers: dict[str, str]) -> None:  # type: ignore[type-arg]
    await client.app[JOURNAL].hint_work("order:17")
    self_origin = f"http://{client.host}:{client.port}"
    sent = {k: (self_origin if v == "SELF" else v) for k, v in headers.items()}
    for path in ("/api/work/order:17/retry", "/work/order:17/retry"):
        resp = await client.post(path, headers=sent, allow_redirects=False)
        assert resp.status in (403, 421), (path, resp.status)
    assert [e.message for e in await client.app[JOURNAL].list_events("order:17")] == []
    ok = await client.post("/api/work/order:17/retry", headers={"Origin": self_origin, "Sec-Fetch-Site": "same-origin"})
    assert ok.status == 200


async def test_json_answers_carry_nosniff_and_csp(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/api/status", "/api/work", "/healthz", "/api/work/none:1"):
        resp = await client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"], path


async def test_optional_login(aiohttp_client: Callable[..., Any], make_config: Callable[..., Config]) -> None:
    config = make_config(server={"auth_token": "t0ken-t0ken", "auth_user": "owner", "auth_password": "pw-pw-pw"})
    client = await aiohttp_client(create_app(config, background=False))
    assert (await client.get("/api/status")).status == 401
    assert (await client.get("/api/status", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/api/status", headers={"Authorization": "Bearer t0ken-t0ken"})).status == 200
    basic = "Basic " + base64.b64encode(b"owner:pw-pw-pw").decode()
    page = await client.get("/", headers={"Authorization": basic})
    assert page.status == 200 and "t0ken" not in await page.text() and "pw-pw-pw" not in await page.text()
    assert (await client.get("/healthz")).status == 200  # probes need no login
    # basic credentials are sent by a browser on its own, so they are no proof for a write; the token is
    await client.app[JOURNAL].hint_work("order:3")
    assert (await client.post("/api/work/order:3/retry", headers={"Authorization": basic})).status == 403
    resp = await client.post("/api/work/order:3/retry", headers={"Authorization": "Bearer t0ken-t0ken"})
    assert resp.status == 200


# -- item 10: stalled connections; item 11: shutdown inside systemd's limit --------------------------


@pytest.fixture
async def served(make_config: Callable[..., Config]) -> AsyncIterator[tuple[int, Config]]:
    config = make_config(server={"header_timeout_seconds": 0.5, "body_timeout_seconds": 0.5})
    runner = web.AppRunner(create_app(config, background=False), **runner_options(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sock = site._server.sockets[0]  # type: ignore[union-attr]
    try:
        yield sock.getsockname()[1], config
    finally:
        await runner.cleanup()


async def _answer(port: int, sent: bytes, *, first_line: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)
    writer.write(sent)
    await writer.drain()
    try:
        # b"": the agent closed the connection (a timeout guards the test, not the agent)
        return await asyncio.wait_for(reader.readline() if first_line else reader.read(), 10)
    finally:
        writer.close()


async def test_connection_that_never_finishes_its_headers_is_closed(served: tuple[int, Config]) -> None:
    port, _ = served
    assert await _answer(port, b"POST /webhooks/woocommerce HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") == b""
    assert await _answer(port, b"") == b""  # nothing sent at all


async def test_body_that_never_arrives_gets_408(served: tuple[int, Config]) -> None:
    port, _ = served
    head = b"POST /webhooks/woocommerce HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"id\""
    answer = await _answer(port, head, first_line=True)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_shutdown_fits_the_systemd_unit_with_margin() -> None:
    unit = (ROOT / "systemd" / "dynaccount-agent@.service").read_text(encoding="utf-8")
    limit = float(next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("TimeoutStopSec=")))
    margin = 15.0  # journal close, loop cancellation, a loaded machine
    assert HTTP_SHUTDOWN_SECONDS + WORKER_GRACE_SECONDS + margin <= limit



async def test_one_stop_failing_does_not_keep_the_others_from_stopping(
    aiohttp_server: Callable[..., Any], make_config: Callable[..., Config]
) -> None:
    from agent.app import SERVICES

    app = create_app(make_config(), autostart=False)
    server = await aiohttp_server(app)
    services = app[SERVICES]

    async def broken_stop() -> None:
        raise RuntimeError("sweep task ended with an error")

    services.sweep.stop = broken_stop  # type: ignore[method-assign]
    await server.close()  # runs the cleanup contexts: must not raise, must stop the worker and close the journal
    assert services.worker._stopping
    assert not await _journal_usable(app)


async def _journal_usable(app: web.Application) -> bool:
    try:
        return bool(await app[JOURNAL].ping())
    except Exception:
        return False
