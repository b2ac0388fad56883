"""WooCommerce REST v3 client (``/wp-json/wc/v3/``) on one ``aiohttp`` session.

HTTP Basic over HTTPS; OAuth 1.0a (HMAC-SHA1, query-string parameters) over plain HTTP, because
WooCommerce does not even try Basic auth when WordPress does not see HTTPS (spec §5.1). One
``_request()`` maps transport failures and ``{code, message, data}`` bodies onto :mod:`agent.woo.errors`.
Collections are read page by page (``per_page=100``, ``X-WP-TotalPages``).
"""

from __future__ import annotations

import base64
import logging
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from agent.woo import oauth
from agent.woo.errors import WooConnectionError, WooError, error_from_response
from agent.woo.models import Order, Refund, loads
from agent.woo.resources import Customer, Product, Setting, TaxRate, Webhook
from agent.woo.stock import StockBatchResult, StockUpdate, StockWriter

log = logging.getLogger(__name__)
API = "wp-json/wc/v3/"
PER_PAGE = 100
# Told of every call once it ended: ``("GET orders/{id}", outcome, seconds)``; outcome is ``ok`` or the
# error's kind (``unavailable``, ``rejected``, ``notfound``, ``auth``, ``connection``, ``response``, ``cancelled``).
CallHook = Callable[[str, str, float], None]
_ID = re.compile(r"/\d+(?=/|$)")


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class WooClient:
    """Small WooCommerce REST client; see module doc. ``base_url`` is the shop's home URL."""

    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, consumer_key: str, consumer_secret: str,
                 ca_file: str | None = None, timeout: float = 30.0, on_call: CallHook | None = None) -> None:
        self._session = session
        self._on_call = on_call
        self._home = base_url.rstrip("/") + "/"
        self._key = consumer_key
        self._secret = consumer_secret
        self._https = self._home.startswith("https://")
        self._ssl: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._down = False
        self.stock = StockWriter(self)

    @property
    def uses_oauth(self) -> bool:
        return not self._https

    @property
    def reachable(self) -> bool:
        """False from a call that could not reach the shop until one that did."""
        return not self._down

    # -- transport ---------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None) -> Any:
        """Body of one REST call, parsed with Decimal money; raises the :mod:`errors` family."""
        body, _ = await self._request(method, path, params=params, json=json)
        return body

    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       json: Any = None) -> tuple[Any, CIMultiDictProxy[str]]:
        """:meth:`_exchange`, timed and reported to ``on_call`` (ids in the path become ``{id}``)."""
        started, outcome = time.perf_counter(), "cancelled"
        try:
            result = await self._exchange(method, path, params=params, json=json)
            outcome = "ok"
            return result
        except WooError as exc:
            outcome = type(exc).__name__.removeprefix("Woo").removesuffix("Error").lower() or "error"
            raise
        finally:
            if self._on_call is not None:
                try:
                    self._on_call(f"{method} {_ID.sub('/{id}', '/' + path.strip('/'))[1:]}", outcome,
                                  time.perf_counter() - started)
                except Exception:  # an observer must never break a call
                    log.exception("on_call hook failed")

    async def _exchange(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                        json: Any = None) -> tuple[Any, CIMultiDictProxy[str]]:
        url = self._home + API + path.lstrip("/")
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        auth_headers: dict[str, str] = {}
        if self._https:
            auth_headers["Authorization"] = basic_auth_header(self._key, self._secret)
        else:
            query = oauth.sign_params(method, url, query, self._key, self._secret)
        try:
            async with self._session.request(method, url, params=query, json=json, headers=auth_headers, ssl=self._ssl,
                                             timeout=self._timeout, allow_redirects=False) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError) as exc:
            self._mark_down(f"{type(exc).__name__}")
            raise WooConnectionError(f"WooCommerce unreachable: {method} {path}: {type(exc).__name__}") from exc
        self._mark_up()
        parsed = _parse(raw)
        if not 200 <= status < 300:  # redirects are not followed: a 3xx means a wrong base URL
            raise error_from_response(status, parsed, _retry_after(headers))
        if parsed is _NOT_JSON:
            raise WooError(f"WooCommerce answered {method} {path} with a body that is not JSON")
        return parsed, headers

    def _mark_down(self, reason: str) -> None:
        if not self._down:
            log.warning("WooCommerce at %s is unreachable (%s)", self._home, reason)
        self._down = True

    def _mark_up(self) -> None:
        if self._down:
            log.info("WooCommerce at %s is reachable again", self._home)
        self._down = False

    async def pages(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every item of a collection, following ``X-WP-TotalPages``."""
        page, total_pages = 1, 1
        while page <= total_pages:
            body, headers = await self._request("GET", path, params={**(params or {}), "per_page": PER_PAGE,
                                                                      "page": page})
            total_pages = int(headers.get("X-WP-TotalPages", "1") or 1)
            for item in body:
                yield item
            page += 1

    async def _all(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [item async for item in self.pages(path, params)]

    # -- orders and refunds ------------------------------------------------------------------------

    async def get_order(self, order_id: int) -> Order:
        return Order.model_validate(await self.request("GET", f"orders/{order_id}"))

    async def iter_orders(self, *, modified_after: datetime | str | None = None, after: datetime | str | None = None,
                          before: datetime | str | None = None, status: str | Sequence[str] = "any",
                          dates_are_gmt: bool = True, orderby: str | None = None, order: str | None = None,
                          **extra: Any) -> AsyncIterator[Order]:
        params = {"modified_after": _opt_iso(modified_after), "after": _opt_iso(after), "before": _opt_iso(before),
                  "status": status, "dates_are_gmt": dates_are_gmt, "orderby": orderby, "order": order, **extra}
        async for item in self.pages("orders", params):
            yield Order.model_validate(item)

    async def order_records(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """``GET /orders`` as WooCommerce sent each record, unvalidated: one malformed order must not
        hide the others from a caller that checks each one itself (filters as :meth:`iter_orders`)."""
        params = {key: _opt_iso(value) if key in ("modified_after", "after", "before") else value
                  for key, value in filters.items()}  # fmt: skip
        async for item in self.pages("orders", {"status": "any", **params}):
            yield item

    async def list_orders(self, **filters: Any) -> list[Order]:
        """All pages of ``GET /orders`` (filters as :meth:`iter_orders`: ``modified_after``, ``status`` …)."""
        return [o async for o in self.iter_orders(**filters)]

    async def create_order(self, payload: Mapping[str, Any]) -> Order:
        return Order.model_validate(await self.request("POST", "orders", json=payload))

    async def update_order(self, order_id: int, payload: Mapping[str, Any]) -> Order:
        return Order.model_validate(await self.request("PUT", f"orders/{order_id}", json=payload))

    async def list_refunds(self, order_id: int) -> list[Refund]:
        return [Refund.model_validate(r) for r in await self._all(f"orders/{order_id}/refunds")]

    async def get_refund(self, order_id: int, refund_id: int) -> Refund:
        return Refund.model_validate(await self.request("GET", f"orders/{order_id}/refunds/{refund_id}"))

    async def create_refund(self, order_id: int, payload: Mapping[str, Any]) -> Refund:
        body = {"api_refund": False, **payload}  # never call the payment gateway unless asked to
        return Refund.model_validate(await self.request("POST", f"orders/{order_id}/refunds", json=body))

    async def list_all_refunds(self, *, after: datetime | str | None = None, before: datetime | str | None = None,
                               dates_are_gmt: bool = True, **extra: Any) -> list[Refund]:
        params = {"after": _opt_iso(after), "before": _opt_iso(before), "dates_are_gmt": dates_are_gmt, **extra}
        return [Refund.model_validate(r) for r in await self._all("refunds", params)]

    # -- catalogue, customers, settings ------------------------------------------------------------

    async def get_product(self, product_id: int) -> Product:
        return Product.model_validate(await self.request("GET", f"products/{product_id}"))

    async def get_variation(self, parent_id: int, variation_id: int) -> Product:
        return Product.model_validate(await self.request("GET", f"products/{parent_id}/variations/{variation_id}"))

    async def list_products(self, *, sku: str | Sequence[str] | None = None, **extra: Any) -> list[Product]:
        """``sku`` is an exact match and also finds variations (spec §4.3)."""
        return [Product.model_validate(p) for p in await self._all("products", {"sku": sku, **extra})]

    async def list_variations(self, parent_id: int) -> list[Product]:
        return [Product.model_validate(p) for p in await self._all(f"products/{parent_id}/variations")]

    async def update_product(self, product_id: int, payload: Mapping[str, Any]) -> Product:
        return Product.model_validate(await self.request("PUT", f"products/{product_id}", json=payload))

    async def get_customer(self, customer_id: int) -> Customer:
        return Customer.model_validate(await self.request("GET", f"customers/{customer_id}"))

    async def list_taxes(self) -> list[TaxRate]:
        return [TaxRate.model_validate(t) for t in await self._all("taxes")]

    async def get_setting(self, group: str, setting_id: str) -> Setting:
        return Setting.model_validate(await self.request("GET", f"settings/{group}/{setting_id}"))

    async def prices_include_tax(self) -> bool:
        setting = await self.get_setting("tax", "woocommerce_prices_include_tax")
        return bool(setting.value == "yes")

    # -- webhooks ------------------------------------------------------------------------------------

    async def list_webhooks(self, *, status: str | None = None) -> list[Webhook]:
        return [Webhook.model_validate(w) for w in await self._all("webhooks", {"status": status})]

    async def create_webhook(self, *, topic: str, delivery_url: str, secret: str, name: str | None = None,
                             status: str = "active") -> Webhook:
        payload = {"name": name or f"dynaccount-agent {topic}", "topic": topic, "delivery_url": delivery_url,
                   "secret": secret, "status": status}
        return Webhook.model_validate(await self.request("POST", "webhooks", json=payload))

    async def update_webhook(self, webhook_id: int, **fields: Any) -> Webhook:
        return Webhook.model_validate(await self.request("PUT", f"webhooks/{webhook_id}", json=fields))

    async def delete_webhook(self, webhook_id: int) -> None:
        await self.request("DELETE", f"webhooks/{webhook_id}", params={"force": "true"})

    # -- stock ---------------------------------------------------------------------------------------

    async def batch_update_stock(self, updates: Sequence[StockUpdate]) -> StockBatchResult:
        """Write absolute stock through the batch endpoints; per-item errors come back, not raised."""
        return await self.stock.write(updates)


def basic_auth_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _opt_iso(value: datetime | str | None) -> str | None:
    return None if value is None else _iso(value)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


_NOT_JSON = object()


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return loads(raw)
    except (ValueError, RecursionError):  # nested deeper than the parser goes: unusable like broken JSON
        return _NOT_JSON
