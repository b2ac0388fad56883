"""Absolute stock writes through WooCommerce's batch endpoints (spec §4.3).

* ≤ 100 items per call (more is a 413 for the whole call);
* simple products go to ``products/batch``, variations to ``products/<parent>/variations/batch``;
* a variation with ``manage_stock: "parent"`` keeps no stock of its own: its parent is written instead
  (looked up once per parent when the caller does not know);
* HTTP 200 can hide per-item failures ``{"id", "error": {code, message, data}}``; they are returned,
  as are items whose stock WooCommerce silently did not apply (item does not manage stock);
* a whole call that is refused marks its items failed and the other calls still run (a 413 lowers the
  batch size of later calls to what the shop says it accepts); transport and
  5xx errors propagate, the caller retries the whole write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.woo.errors import WooRejected
from agent.woo.resources import Product

BATCH_LIMIT = 100


class _Api(Protocol):
    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any: ...

    async def list_variations(self, parent_id: int) -> list[Product]: ...


@dataclass(frozen=True)
class StockUpdate:
    """Set ``quantity`` on product ``id`` (a variation needs its ``parent_id``).

    ``manage_stock``: what the caller knows about the item (``True``, ``False``, ``"parent"``) or ``None`` to
    let the writer ask WooCommerce. ``enable`` turns stock management on in the same write.
    """

    id: int
    quantity: int
    parent_id: int = 0
    manage_stock: bool | str | None = None
    enable: bool = False


@dataclass(frozen=True)
class StockItemError:
    id: int
    parent_id: int
    code: str
    message: str
    status: int | None = None


@dataclass
class StockBatchResult:
    updated: list[Product] = field(default_factory=list)
    errors: list[StockItemError] = field(default_factory=list)
    redirected: dict[int, int] = field(default_factory=dict)  # variation id -> parent written instead
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class StockWriter:
    def __init__(self, api: _Api) -> None:
        self._api = api
        self.limit = BATCH_LIMIT  # lowered when the shop answers 413 (a plugin lowered the batch limit)

    async def write(self, updates: Sequence[StockUpdate]) -> StockBatchResult:
        result = StockBatchResult()
        resolved = await self._resolve_parent_managed(updates, result)
        groups: dict[int, dict[int, StockUpdate]] = {}
        for update in resolved:
            groups.setdefault(update.parent_id, {})[update.id] = update  # last write per item wins
        for parent_id, items in groups.items():
            path = "products/batch" if parent_id == 0 else f"products/{parent_id}/variations/batch"
            for chunk in _chunks(list(items.values()), self.limit):
                await self._call(path, parent_id, chunk, result)
        return result

    async def _resolve_parent_managed(self, updates: Sequence[StockUpdate],
                                      result: StockBatchResult) -> list[StockUpdate]:
        unknown_parents = {u.parent_id for u in updates if u.parent_id and u.manage_stock is None}
        managed: dict[int, bool | str] = {}
        for parent_id in unknown_parents:
            for variation in await self._api.list_variations(parent_id):
                managed[variation.id] = variation.manage_stock
        out: list[StockUpdate] = []
        for u in updates:
            mode = u.manage_stock if u.manage_stock is not None else managed.get(u.id)
            if u.parent_id and mode == "parent" and not u.enable:
                result.redirected[u.id] = u.parent_id
                out.append(StockUpdate(u.parent_id, u.quantity, 0, True))
            else:
                out.append(u)
        return out

    async def _call(self, path: str, parent_id: int, chunk: list[StockUpdate], result: StockBatchResult) -> None:
        payload = {"update": [_item(u) for u in chunk]}
        result.calls += 1
        try:
            body = await self._api.request("POST", path, json=payload)
        except WooRejected as exc:
            result.errors += [StockItemError(u.id, parent_id, exc.code, exc.message, exc.status) for u in chunk]
            if exc.status == 413:
                self.limit = _accepted(exc.message, len(chunk))
            return
        wanted = {u.id: u.quantity for u in chunk}
        for entry in (body or {}).get("update", []):
            _record(entry, parent_id, wanted, result)


def _item(update: StockUpdate) -> dict[str, Any]:
    item: dict[str, Any] = {"id": update.id, "stock_quantity": update.quantity}
    if update.enable:
        item["manage_stock"] = True
    return item


def _record(entry: dict[str, Any], parent_id: int, wanted: dict[int, int], result: StockBatchResult) -> None:
    item_id = int(entry.get("id") or 0)
    error = entry.get("error")
    if isinstance(error, dict):
        data = error.get("data")
        status = data.get("status") if isinstance(data, dict) else None
        result.errors.append(StockItemError(item_id, parent_id, str(error.get("code", "")),
                                            str(error.get("message", "")), status))
        return
    product = Product.model_validate(entry)
    if item_id in wanted and product.stock_quantity != wanted[item_id]:
        result.errors.append(StockItemError(
            item_id, parent_id, "stock_not_applied",
            f"WooCommerce kept stock {product.stock_quantity!r} (manage_stock={product.manage_stock!r})"))
        return
    result.updated.append(product)


def _accepted(message: str, sent: int) -> int:
    """The batch size the shop accepts: WooCommerce says it ("Unable to accept more than N items for this
    request."); if the words differ, half of what was refused."""
    found = re.search(r"more than (\d+) item", message)
    return max(1, int(found.group(1)) if found else sent // 2)


def _chunks(items: list[StockUpdate], size: int) -> Iterable[list[StockUpdate]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
