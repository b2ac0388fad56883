"""Webhook intake: verify on the raw bytes, journal, commit, and only then answer 200.

Nothing else happens inside the request: no call to WooCommerce or Dynaccount. WooCommerce never
retries a delivery, so anything with a valid signature is stored even when it cannot be used
(broken JSON, unknown topic) and answered 200; it stays visible with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from agent.clock import Clock
from agent.ids import parse_id, work_key
from agent.journal import CHANGED, Fingerprint, Journal, NewDelivery
from agent.woo.fingerprint import order_fingerprint
from agent.woo.models import Order, loads
from agent.woo.signature import verify

log = logging.getLogger(__name__)

PING_BODY = re.compile(rb"^webhook_id=(\d{1,19})$")
PING_MAX_BYTES = 64  # WooCommerce's ping is "webhook_id=N": anything longer is not a ping
# Topics whose resource becomes a piece of work, and the work kind they map to.
WORK_RESOURCES = {"order": "order", "product": "product", "customer": "customer", "subscription": "subscription"}
KNOWN_EVENTS = {"created", "updated", "deleted", "restored", "switched"}
# Action topics we understand: the argument is the id of the resource named here.
ACTION_RESOURCES = {
    "woocommerce_order_refunded": "order",
    "woocommerce_payment_complete": "order",
    "woocommerce_order_status_changed": "order",
}
IGNORED_RESOURCES = {"coupon"}


@dataclass(frozen=True)
class Classified:
    state: str
    resource: str | None = None
    resource_id: str | None = None
    work_key: str | None = None
    error: str | None = None
    fingerprint: Fingerprint = None  # of the order in the body (order topics), lazy; None: changed, unknown how


@dataclass
class IntakeStats:
    """Counters for what is never stored (forged or oversized requests)."""

    rejected: int = 0
    too_large: int = 0


def read_delivery(topic: str | None, body: bytes) -> Classified:
    """Decide what a signed delivery is about. Pure: no I/O."""
    resource, _, event = (topic or "").partition(".")
    try:
        payload: Any = loads(body)  # Decimal for every amount, as the REST client reads them
    except (UnicodeDecodeError, ValueError) as exc:
        return Classified("invalid_json", resource or None, error=f"body is not JSON: {exc}")
    except RecursionError:  # stored and marked like any unusable body, never a 500
        return Classified("invalid_json", resource or None, error="body is JSON nested too deeply to read")
    if not isinstance(payload, dict):
        return Classified("invalid_json", resource or None, error="body is not a JSON object")
    if "code" in payload and "message" in payload and "id" not in payload:
        # WooCommerce delivers REST error objects as if they were payloads (owner lacks rights).
        return Classified("error_payload", resource or None, error=f"WooCommerce sent an error: {payload['code']}")
    if resource == "action":
        return _action(event, payload)
    if resource in IGNORED_RESOURCES and event in KNOWN_EVENTS:
        return Classified("ignored", resource, _str_id(payload.get("id")), error=f"{resource} topics are not used")
    if resource not in WORK_RESOURCES or event not in KNOWN_EVENTS:
        return Classified("unknown_topic", resource or None, error=f"unknown topic {topic!r}")
    rid = _str_id(payload.get("id"))
    if rid is None:
        return Classified("invalid_json", resource, error="payload has no numeric id")
    kind = WORK_RESOURCES[resource]
    if kind == "product" and payload.get("type") == "variation" and payload.get("parent_id"):
        kind = "variation"
    fingerprint: Fingerprint = None
    if kind == "order" and event != "deleted":
        # computed by the journal only when the item's state needs it (not for a new or pending item)
        fingerprint = partial(_fingerprint, payload)
    elif kind in ("product", "variation", "customer"):
        fingerprint = CHANGED  # a shop edit: re-opens the item even when held on bad data the edit may fix
    return Classified("queued", resource, rid, work_key=work_key(kind, rid), fingerprint=fingerprint)


def _fingerprint(payload: dict[str, Any]) -> str | None:
    """The order's fingerprint as the body shows it, so a delivery of an order already acted on in
    this state does not revive a failed or held item (``agent.journal.work.REOPEN``)."""
    try:
        return order_fingerprint(Order.model_validate(payload))
    except (ValueError, TypeError, RecursionError):  # not an order we can read: counts as a change
        return None


def _action(hook: str, payload: dict[str, Any]) -> Classified:
    kind = ACTION_RESOURCES.get(hook)
    rid = _str_id(payload.get("arg"))
    if kind is None:
        return Classified("unknown_topic", "action", rid, error=f"unknown action topic {hook!r}")
    if rid is None:
        return Classified("invalid_json", "action", error="action payload has no numeric arg")
    return Classified("queued", "action", rid, work_key=work_key(kind, rid))


def _str_id(value: Any) -> str | None:
    """The canonical id (``agent.ids``): ``"032"`` or ``"²"`` would name a second work item for one order."""
    rid = parse_id(value)
    return None if rid is None else str(rid)


class UnsignedLimit:
    """At most ``per_minute`` unsigned requests (pings, forgeries) a minute, on the agent's clock:
    anyone can send them, so they must not cost unbounded disk or log lines."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self._clock = clock
        self._per_minute = per_minute
        self._window = -1
        self._used = 0

    def allow(self) -> bool:
        window = int(self._clock.now() // 60)
        if window != self._window:
            self._window, self._used = window, 0
        self._used += 1
        return self._used <= self._per_minute


class Intake:
    def __init__(self, journal: Journal, webhook_secret: str, clock: Clock, *, unsigned_per_minute: int = 30,
                 body_timeout: float = 30.0) -> None:  # fmt: skip
        self._journal = journal
        self._secret = webhook_secret
        self._clock = clock
        self._unsigned = UnsignedLimit(clock, unsigned_per_minute)
        self._body_timeout = body_timeout
        self.stats = IntakeStats()
        self.on_work: Callable[[], None] | None = None  # wakes the worker when new work arrives
        # The stock room's say on a delivery: a reason to ignore it (the echo of its own stock write).
        self.echo_check: Callable[[str | None, bytes], Awaitable[str | None]] | None = None

    async def _body(self, request: web.Request) -> bytes:
        try:
            if request.content.is_eof():  # the whole body came with the headers: nothing to wait for
                return await request.read()
            async with asyncio.timeout(self._body_timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.stats.too_large += 1
            raise
        except TimeoutError:
            # the rest of the body may never come: answer and close rather than wait for it
            error = web.HTTPRequestTimeout(text="request body not received in time")
            error.force_close()
            raise error from None

    async def handle(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        signature = request.headers.get("X-WC-Webhook-Signature")
        if signature is None or not verify(body, signature, self._secret):
            return await self._unsigned_request(body, signature)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        topic = request.headers.get("X-WC-Webhook-Topic")
        c = read_delivery(topic, body)
        if c.work_key and self.echo_check is not None and (echo := await self.echo_check(topic, body)):
            c = Classified("ignored", c.resource, c.resource_id, error=echo)
        delivery = NewDelivery(
            received_at=self._clock.now(), headers=headers, body=body, signature="valid", state=c.state,
            topic=topic, resource=c.resource, resource_id=c.resource_id,
            webhook_id=request.headers.get("X-WC-Webhook-ID"),
            delivery_id=request.headers.get("X-WC-Webhook-Delivery-ID"), error=c.error, work_key=c.work_key,
            fingerprint=c.fingerprint,
        )
        recorded = await self._journal.record_delivery(delivery)
        if c.work_key and not recorded.duplicate and self.on_work is not None:
            self.on_work()
        # the answer's JSON written out: json_response's encoder was a measurable share of a request
        return web.Response(body=b'{"ok": true, "id": %d, "duplicate": %s}'
                            % (recorded.id, b"true" if recorded.duplicate else b"false"),
                            content_type="application/json")  # fmt: skip

    async def _unsigned_request(self, body: bytes, signature: str | None) -> web.Response:
        if not self._unsigned.allow():
            self.stats.rejected += 1
            return web.json_response({"error": "too many unsigned requests"}, status=429,
                                     headers={"Retry-After": "60"})  # fmt: skip
        match = PING_BODY.match(body.strip()) if signature is None and len(body) <= PING_MAX_BYTES else None
        if match is not None:
            return await self._record_ping(match.group(1).decode())
        self.stats.rejected += 1
        log.warning("rejected a webhook with a %s signature", "missing" if signature is None else "bad")
        return web.json_response({"error": "invalid signature"}, status=401)

    async def _record_ping(self, webhook_id: str) -> web.Response:
        # Only the webhook id and the time are kept: the request is unsigned, anyone can send it.
        delivery = NewDelivery(
            received_at=self._clock.now(), headers={}, body=f"webhook_id={webhook_id}".encode(),
            signature="unsigned_ping", state="ping", topic="ping", webhook_id=webhook_id, resource_id=webhook_id,
        )
        recorded = await self._journal.record_delivery(delivery)
        # WooCommerce accepts the ping only on exactly 200.
        return web.json_response({"ok": True, "id": recorded.id, "ping": True})
