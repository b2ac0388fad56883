"""Webhook registry and delivery, as WooCommerce 10 does it (spec §1).

* hooks fired by the shop are matched to active webhooks by topic (table of §1.7); each (webhook, arg)
  is queued once while pending, so rapid updates of one resource coalesce into one delivery;
* a background task delivers after ``delay`` seconds (Action Scheduler latency); the payload is built at
  delivery time; ``flush()`` delivers everything now, ``wait_idle()`` waits for the queue to drain;
* the request: POST over HTTP/1.1 with ``Connection: close`` (WordPress 6.8 leaves Requests 2 at its default
  1.1, as a real shop's deliveries showed), ``wp_json_encode`` body, the seven ``X-WC-*``/UA headers, base64
  HMAC-SHA256 signature, Delivery-ID = HMAC-MD5(webhook id + unix second) (not unique within a second);
* 200–302 is success, no redirects, no retries; the 7th consecutive failure disables the webhook;
* creation pings with a form body ``webhook_id=N`` (no signature) and needs exactly 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from agent.sandbox.woo.orderjson import gmt, local
from agent.sandbox.woo.wpjson import dumps_wp
from agent.woo.signature import sign

log = logging.getLogger(__name__)
USER_AGENT = "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)"
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures; disabled when failure_count > 5 on a failure
TOPIC_HOOKS: dict[str, list[str]] = {
    "order.created": ["woocommerce_new_order", "wcs_webhook_order_created"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product",
                        "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
}
_FORBIDDEN_ACTIONS = ("woocommerce_login_credentials", "woocommerce_product_csv_importer_check_import_file_path",
                      "woocommerce_webhook_should_deliver")


def valid_topic(topic: str) -> bool:
    if topic in TOPIC_HOOKS:
        return True
    resource, _, action = topic.partition(".")
    return resource == "action" and action.startswith(("woocommerce_", "wc_")) and action not in _FORBIDDEN_ACTIONS


def topic_hooks(topic: str) -> list[str]:
    return TOPIC_HOOKS.get(topic) or [topic.partition(".")[2]]


@dataclass
class SandboxWebhook:
    id: int
    topic: str
    delivery_url: str
    secret: str
    name: str
    created: datetime
    modified: datetime
    status: str = "active"
    failure_count: int = 0
    pending_delivery: bool = True

    @property
    def resource(self) -> str:
        return self.topic.partition(".")[0]

    @property
    def event(self) -> str:
        return self.topic.partition(".")[2]


@dataclass
class DeliveryRecord:
    webhook_id: int
    topic: str
    arg: int
    delivery_id: str
    status: int  # HTTP status, 0 for a transport error, -1 when dropped by the control API
    body: bytes
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 303


def webhook_json(wh: SandboxWebhook, home: str) -> dict[str, Any]:
    api = f"{home}wp-json/wc/v3/webhooks"
    return {
        "id": wh.id, "name": wh.name, "status": wh.status, "topic": wh.topic, "resource": wh.resource,
        "event": wh.event, "hooks": topic_hooks(wh.topic), "delivery_url": wh.delivery_url,
        "date_created": local(wh.created), "date_created_gmt": gmt(wh.created),
        "date_modified": local(wh.modified), "date_modified_gmt": gmt(wh.modified),
        "_links": {"self": [{"href": f"{api}/{wh.id}",
                             "targetHints": {"allow": ["GET", "POST", "PUT", "PATCH", "DELETE"]}}],
                   "collection": [{"href": api}]},
    }


PayloadBuilder = Callable[[SandboxWebhook, int], Any]


@dataclass
class Dispatcher:
    """Owns the webhooks, the delivery queue and the delivery log. Start with :meth:`start`."""

    build_payload: PayloadBuilder
    now: Callable[[], datetime]
    home: Callable[[], str]
    delay: float = 0.0
    timeout: float = 60.0
    safe_urls: bool = False  # model WordPress's wp_safe_remote_request URL checks (spec §1.9)
    salt: bytes = b"sandbox-wp-hash-salt"
    webhooks: dict[int, SandboxWebhook] = field(default_factory=dict)
    log: list[DeliveryRecord] = field(default_factory=list)
    pings: list[tuple[int, int]] = field(default_factory=list)  # (webhook id, response status)
    held: bool = False
    _drop: list[tuple[int, str | None]] = field(default_factory=list)
    _queue: dict[tuple[int, int], float] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _session: aiohttp.ClientSession | None = None
    _next_id: int = 1

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(version=aiohttp.HttpVersion11, auto_decompress=True)
        self._idle.set()
        self._task = asyncio.create_task(self._run(), name="woo-sandbox-webhooks")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # -- registry ------------------------------------------------------------------------------------

    async def create(self, topic: str, delivery_url: str, secret: str, name: str, status: str) -> SandboxWebhook:
        now = self.now()
        wh = SandboxWebhook(self._next_id, topic, delivery_url, secret, name, now, now, status)
        self._next_id += 1
        self.webhooks[wh.id] = wh
        await self.ping(wh)  # REST create always pings after saving (WC10 v1 controller)
        return wh

    async def save(self, wh: SandboxWebhook, *, url_changed: bool = False) -> None:
        wh.modified = self.now()
        if wh.status == "active" and (wh.pending_delivery or url_changed):
            await self.ping(wh)

    async def ping(self, wh: SandboxWebhook) -> None:
        body = f"webhook_id={wh.id}".encode()
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        status = await self._post(wh.delivery_url, body, headers, seconds=5.0, redirects=True)
        self.pings.append((wh.id, status))
        if status == 200:
            wh.pending_delivery = False

    # -- queue ---------------------------------------------------------------------------------------

    def fire(self, hook: str, arg: int) -> None:
        """A WordPress hook fired in the shop; queue one delivery per matching active webhook."""
        due = asyncio.get_running_loop().time() + self.delay
        for wh in self.webhooks.values():
            if wh.status == "active" and hook in topic_hooks(wh.topic):
                self._queue.setdefault((wh.id, arg), due)  # already pending -> coalesced
                self._idle.clear()
        self._wake.set()

    def hold(self) -> None:
        """Keep deliveries queued (a stalled WP-Cron) until :meth:`release` or :meth:`flush`."""
        self.held = True

    def release(self) -> None:
        self.held = False
        self._wake.set()

    def drop_next(self, count: int = 1, topic: str | None = None) -> None:
        self._drop += [(count, topic)] if count > 0 else []

    async def flush(self) -> None:
        """Deliver everything queued now, ignoring delay and hold."""
        while self._queue:
            key = next(iter(self._queue))
            del self._queue[key]
            await self._deliver(*key)
        self._wake.set()  # let the runner notice the empty queue and report idle
        await self.wait_idle()

    async def wait_idle(self) -> None:
        """Wait until nothing is queued or in flight (wrap in ``asyncio.timeout`` as needed)."""
        await self._idle.wait()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = [k for k, t in self._queue.items() if t <= loop.time()] if not self.held else []
            if due:
                self._queue.pop(due[0], None)
                await self._deliver(*due[0])
                continue
            if not self._queue:
                self._idle.set()
            self._wake.clear()
            wait = min(self._queue.values(), default=loop.time() + 3600) - loop.time()
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.01, wait) if not self.held else None)
            except TimeoutError:
                pass

    def _take_drop(self, topic: str) -> bool:
        for n, (count, wanted) in enumerate(self._drop):
            if wanted in (None, topic):
                self._drop[n] = (count - 1, wanted)
                self._drop = [d for d in self._drop if d[0] > 0]
                return True
        return False

    async def _deliver(self, webhook_id: int, arg: int) -> None:
        wh = self.webhooks.get(webhook_id)
        if wh is None or wh.status != "active":
            return  # disabled/paused webhooks are not loaded: the event is lost
        body = dumps_wp(self.build_payload(wh, arg))  # built now, not when the hook fired
        headers = self._headers(wh, body)
        if self._take_drop(wh.topic):
            self.log.append(DeliveryRecord(wh.id, wh.topic, arg, headers["X-WC-Webhook-Delivery-ID"], -1, body,
                                           headers))
            return
        status = await self._post(wh.delivery_url, body, headers, seconds=self.timeout, redirects=False)
        self.log.append(DeliveryRecord(wh.id, wh.topic, arg, headers["X-WC-Webhook-Delivery-ID"], status, body,
                                       headers))
        await self._record_result(wh, 200 <= status < 303)

    async def _record_result(self, wh: SandboxWebhook, ok: bool) -> None:
        if ok:
            wh.failure_count = 0
        elif wh.failure_count > MAX_FAILURES:
            wh.status = "disabled"
            log.info("sandbox webhook %s disabled after repeated delivery failures", wh.id)
        else:
            wh.failure_count += 1
        await self.save(wh)  # the save re-pings while the first ping has not succeeded (spec §1.5)

    def _headers(self, wh: SandboxWebhook, body: bytes) -> dict[str, str]:
        second = str(int(self.now().timestamp()))
        delivery_id = hmac.new(self.salt, f"{wh.id}{second}".encode(), hashlib.md5).hexdigest()
        return {
            "User-Agent": USER_AGENT, "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.home(), "X-WC-Webhook-Topic": wh.topic,
            "X-WC-Webhook-Resource": wh.resource, "X-WC-Webhook-Event": wh.event,
            "X-WC-Webhook-Signature": sign(body, wh.secret), "X-WC-Webhook-ID": str(wh.id),
            "X-WC-Webhook-Delivery-ID": delivery_id, "Connection": "close",
        }

    async def _post(self, url: str, body: bytes, headers: dict[str, str], *, seconds: float,
                    redirects: bool) -> int:
        if self._session is None or (self.safe_urls and not self._safe(url)):
            return 0  # WP_Error (e.g. "A valid URL was not provided.") counts as response code 0
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=redirects,
                                          max_redirects=5, timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
                await resp.read()
                return resp.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            return 0

    def _safe(self, url: str) -> bool:
        parts, home = urlsplit(url), urlsplit(self.home())
        if parts.scheme not in ("http", "https") or parts.username or not parts.hostname:
            return False
        if parts.hostname == home.hostname:
            return parts.port in (None, 80, 443, 8080, home.port)
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        if address is not None and not address.is_global:
            return False
        return parts.port in (None, 80, 443, 8080)
