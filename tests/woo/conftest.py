"""Fixtures for the WooCommerce tests: a running sandbox, a client, and a webhook receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from agent.sandbox.woo import WooSandbox, running_woo_sandbox
from agent.woo.client import WooClient

CK, CS = "ck_test_key", "cs_test_secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    version: str


@dataclass
class Receiver:
    """A webhook endpoint that records raw requests; ``status`` is what it answers."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200

    def deliveries(self, topic: str | None = None) -> list[Received]:
        return [r for r in self.requests if "X-WC-Webhook-Topic" in r.headers
                and (topic is None or r.headers["X-WC-Webhook-Topic"] == topic)]

    def pings(self) -> list[Received]:
        return [r for r in self.requests if "X-WC-Webhook-Topic" not in r.headers]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        rec.requests.append(Received(request.path, dict(request.headers), await request.read(),
                                     f"{request.version.major}.{request.version.minor}"))
        return web.Response(status=rec.status, text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks"
    yield rec
    await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[WooSandbox]:
    async with running_woo_sandbox(CK, CS, delivery_timeout=5.0) as shop:
        yield shop


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(sandbox: WooSandbox, session: aiohttp.ClientSession) -> WooClient:
    return WooClient(session, base_url=sandbox.base_url, consumer_key=CK, consumer_secret=CS, timeout=10)
