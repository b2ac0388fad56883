"""What the shop says about its prices and its raw products/customers, read over REST.

:class:`ShopFactsCache` reads ``settings/tax`` (``woocommerce_prices_include_tax``), ``settings/general`` (base
country, decimals, currency) and ``taxes`` once and keeps them for ``ttl`` seconds: a shop changes these rarely,
and one bulk run of thousands of products must not read them per product. Products are read as raw JSON (not
the client's model) so a price that is not a number fails that item with its reason instead of the whole read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agent.catalog.rules import Rate, ShopFacts
from agent.clock import Clock
from agent.woo.client import WooClient
from agent.woo.errors import WooError


class ShopFactsCache:
    def __init__(self, woo: WooClient, clock: Clock, ttl: float = 300.0) -> None:
        self._woo, self._clock, self._ttl = woo, clock, ttl
        self._facts: ShopFacts | None = None
        self._read_at = 0.0

    async def get(self) -> ShopFacts:
        now = self._clock.now()
        if self._facts is None or now - self._read_at >= self._ttl:
            self._facts = await self._read()
            self._read_at = now
        return self._facts

    def forget(self) -> None:
        self._facts = None

    async def _read(self) -> ShopFacts:
        tax = await self._settings("tax")
        general = await self._settings("general")
        country, _, state = str(general.get("woocommerce_default_country") or "").partition(":")
        rates = tuple(
            Rate(str(t.country), str(t.state), Decimal(t.rate), int(t.priority), bool(t.compound), t.tax_class)
            for t in await self._woo.list_taxes()
        )  # fmt: skip
        return ShopFacts(
            prices_include_tax=tax.get("woocommerce_prices_include_tax") == "yes", base_country=country,
            base_state=state, decimals=int(general.get("woocommerce_price_num_decimals") or 2),
            currency=str(general.get("woocommerce_currency") or "DKK"), rates=rates,
        )  # fmt: skip

    async def _settings(self, group: str) -> dict[str, Any]:
        rows = await self._woo.request("GET", f"settings/{group}")
        return {str(r.get("id")): r.get("value") for r in rows if isinstance(r, dict)}


async def read_product(woo: WooClient, product_id: int) -> dict[str, Any] | None:
    """The product (or variation) as the shop has it now; None when it no longer exists."""
    try:
        body = await woo.request("GET", f"products/{product_id}")
    except WooError as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise
    return body if isinstance(body, dict) else None


async def read_variations(woo: WooClient, parent_id: int) -> list[dict[str, Any]]:
    return [v async for v in woo.pages(f"products/{parent_id}/variations")]


async def read_customer(woo: WooClient, customer_id: int) -> dict[str, Any] | None:
    try:
        body = await woo.request("GET", f"customers/{customer_id}")
    except WooError as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise
    return body if isinstance(body, dict) else None
