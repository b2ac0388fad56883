"""A local WooCommerce 10 shop for tests and the demo: REST v3, real webhooks, a control API.

Python::

    async with running_woo_sandbox(consumer_key="ck_x", consumer_secret="cs_x") as shop:
        client = WooClient(session, base_url=shop.base_url, consumer_key="ck_x", consumer_secret="cs_x")
        await client.create_webhook(topic="order.updated", delivery_url=agent_url, secret="s3cret")
        order = shop.create_order({...})      # or through the REST client, as with a real shop
        await shop.flush()                    # deliver queued webhooks now

CLI (called by ``dynaccount-agent sandbox woocommerce --port N --consumer-key CK --consumer-secret CS``)::

    agent.sandbox.woo.main(["--port", "8081", "--consumer-key", "ck_…", "--consumer-secret", "cs_…"])
"""

from __future__ import annotations

import argparse
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.sandbox.woo.control import add_control_routes, control_errors
from agent.sandbox.woo.http import ApiKey, AuthConfig, auth_middleware
from agent.sandbox.woo.keys import DISPATCHER, STATE
from agent.sandbox.woo.orderjson import render_order
from agent.sandbox.woo.refunds import full_refund_payload, render_refund
from agent.sandbox.woo.render import customer_json, product_json
from agent.sandbox.woo.routes import add_rest_routes
from agent.sandbox.woo.state import ShopError, ShopState
from agent.sandbox.woo.webhooks import DeliveryRecord, Dispatcher, SandboxWebhook

__all__ = ["ApiKey", "WooSandbox", "create_woo_sandbox_app", "main", "running_woo_sandbox", "serve"]


def _payload_builder(state: ShopState) -> Callable[[SandboxWebhook, int], Any]:
    def build(wh: SandboxWebhook, arg: int) -> Any:
        if wh.resource == "action":
            return {"action": wh.event, "arg": arg}
        if wh.event == "deleted":
            return {"id": arg}
        try:
            if wh.resource == "order":
                return render_order(state.order(arg), state.shop, state.home)
            if wh.resource == "product":
                return product_json(state.item(arg), state)
            if wh.resource == "customer" and arg in state.customers:
                return customer_json(state.customers[arg], state)
        except ShopError as exc:
            return {"code": exc.code, "message": exc.message, "data": {"status": exc.status}}
        return {"code": "woocommerce_rest_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}
    return build


def create_woo_sandbox_app(*, consumer_key: str, consumer_secret: str, home: str = "http://127.0.0.1/",
                           extra_keys: Sequence[ApiKey] = (), delivery_delay: float = 0.0,
                           delivery_timeout: float = 60.0, trust_forwarded_proto: bool = False,
                           safe_urls: bool = False, now: Callable[[], datetime] | None = None) -> web.Application:
    """The sandbox as an aiohttp app. Set ``app[STATE].home`` once the real URL is known."""
    state = ShopState(home=home) if now is None else ShopState(home=home, now=now)
    dispatcher = Dispatcher(build_payload=_payload_builder(state), now=state.now, home=lambda: state.home,
                            delay=delivery_delay, timeout=delivery_timeout, safe_urls=safe_urls)
    state.on_hook = dispatcher.fire
    auth = AuthConfig(keys=[ApiKey(consumer_key, consumer_secret), *extra_keys],
                      trust_forwarded_proto=trust_forwarded_proto, home=lambda: state.home)
    app = web.Application(middlewares=[control_errors, auth_middleware(auth)])
    app[STATE] = state
    app[DISPATCHER] = dispatcher

    async def deliveries(app: web.Application) -> AsyncIterator[None]:
        await dispatcher.start()
        yield
        await dispatcher.close()

    app.cleanup_ctx.append(deliveries)
    add_rest_routes(app)
    add_control_routes(app)
    return app


@dataclass
class WooSandbox:
    """Handle on a running sandbox for tests (the same operations as the HTTP control API)."""

    app: web.Application
    base_url: str
    ca_file: str | None = None

    @property
    def state(self) -> ShopState:
        return self.app[STATE]

    @property
    def dispatcher(self) -> Dispatcher:
        return self.app[DISPATCHER]

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        return self.dispatcher.log

    def create_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.order_json(self.state.create_order(payload).id)

    def advance(self, order_id: int, status: str | None = None) -> dict[str, Any]:
        return self.order_json(self.state.advance(order_id, status).id)

    def refund(self, order_id: int, payload: dict[str, Any] | None = None, *, full: bool = False) -> dict[str, Any]:
        body = full_refund_payload(self.state.order(order_id)) if full else (payload or {})
        return render_refund(self.state.create_refund(order_id, body), self.state.home)

    def set_product(self, product_id: int, **fields: Any) -> dict[str, Any]:
        return product_json(self.state.update_product(product_id, fields), self.state)

    def stock(self, product_id: int) -> int | None:
        return self.state.stock_owner(product_id).stock_quantity

    def order_json(self, order_id: int) -> dict[str, Any]:
        return render_order(self.state.order(order_id), self.state.shop, self.state.home)

    def drop_next(self, count: int = 1, topic: str | None = None) -> None:
        self.dispatcher.drop_next(count, topic)

    def set_delay(self, seconds: float) -> None:
        self.dispatcher.delay = seconds

    def hold(self) -> None:
        self.dispatcher.hold()

    def release(self) -> None:
        self.dispatcher.release()

    async def flush(self) -> None:
        await self.dispatcher.flush()

    async def wait_idle(self) -> None:
        await self.dispatcher.wait_idle()


def self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throw-away certificate for ``host`` made with the ``openssl`` command (no Python dependency)."""
    cert, key = directory / "sandbox.crt", directory / "sandbox.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=IP:{host}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@asynccontextmanager
async def running_woo_sandbox(consumer_key: str = "ck_sandbox", consumer_secret: str = "cs_sandbox", *,
                              https: bool = False, host: str = "127.0.0.1", port: int = 0,
                              **app_kwargs: Any) -> AsyncIterator[WooSandbox]:
    """Serve a sandbox on ``host:port`` (0 = ephemeral); ``https`` uses a fresh self-signed cert."""
    app = create_woo_sandbox_app(consumer_key=consumer_key, consumer_secret=consumer_secret, **app_kwargs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with tempfile.TemporaryDirectory(prefix="woo-sandbox-") as tmp:
        context, ca_file = None, None
        if https:
            cert, key = self_signed_cert(Path(tmp), host)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            ca_file = str(cert)
        site = web.TCPSite(runner, host, port, ssl_context=context)
        try:
            await site.start()
            bound = runner.addresses[0][1]
            base_url = f"{'https' if https else 'http'}://{host}:{bound}/"
            app[STATE].home = base_url
            yield WooSandbox(app, base_url, ca_file)
        finally:
            await runner.cleanup()


def serve(*, port: int, consumer_key: str, consumer_secret: str, host: str = "127.0.0.1",
          delivery_delay: float = 2.0, safe_urls: bool = False) -> None:
    """Run the sandbox in the foreground until interrupted (the CLI's entry)."""
    app = create_woo_sandbox_app(consumer_key=consumer_key, consumer_secret=consumer_secret,
                                 home=f"http://{host}:{port}/", delivery_delay=delivery_delay, safe_urls=safe_urls)
    print(f"WooCommerce sandbox on http://{host}:{port}/  (control API: http://{host}:{port}/__sandbox/)")
    web.run_app(app, host=host, port=port, print=None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dynaccount-agent sandbox woocommerce")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--consumer-key", required=True)
    parser.add_argument("--consumer-secret", required=True)
    parser.add_argument("--delivery-delay", type=float, default=2.0, help="seconds before a webhook is sent")
    parser.add_argument("--safe-urls", action="store_true", help="reject loopback delivery URLs like WordPress")
    args = parser.parse_args(argv)
    serve(port=args.port, consumer_key=args.consumer_key, consumer_secret=args.consumer_secret, host=args.host,
          delivery_delay=args.delivery_delay, safe_urls=args.safe_urls)
    return 0
