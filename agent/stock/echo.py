"""What a ``product.updated`` means to the stock room: the echo of its own write, or the shop disagreeing.

Every stock write saves the product, so WooCommerce answers the agent's own writes with
``product.updated`` deliveries (spec §1.7). :func:`echo_reason` recognises them at intake, so they never
become work. Any other ``product.updated`` of an item whose stock the agent keeps is compared with
Dynaccount's number by :meth:`ProductCheck.__call__`: a difference is reported on the SKU (a sale not yet
booked, or a hand edit in the shop) and never copied back — Dynaccount is master.
"""

from __future__ import annotations

import json
from typing import Any

from agent.dynaccount.client import DynaccountClient
from agent.journal import Journal, WorkItem
from agent.journal.stock import StockJournal, StockRow
from agent.outcomes import Outcome
from agent.stock.shop import sold_now
from agent.woo.client import WooClient


def _stock_of(payload: Any) -> tuple[int, int | None] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return None
    qty = payload.get("stock_quantity")
    owner = payload.get("parent_id") if payload.get("manage_stock") == "parent" else payload["id"]
    return (owner if isinstance(owner, int) and owner else payload["id"]), (qty if isinstance(qty, int) else None)


async def echo_reason(stock: StockJournal, topic: str | None, body: bytes, *, catalog: bool = False) -> str | None:
    """The reason to ignore a ``product.updated``, else None (it becomes work): the echo of the agent's own
    stock write, or an item whose stock the agent does not keep (product changes need no accounting)."""
    if topic != "product.updated":
        return None
    try:
        found = _stock_of(json.loads(body))
    except ValueError:
        return None
    if found is None:
        return None
    if await stock.take_echo(*found):
        return f"echo of the agent's own stock write (stock {found[1]}): nothing to do"
    if not catalog and not await stock.keeps(found[0]):  # with the catalog sync on, every edit is work
        return "the agent keeps no stock for this item, and product changes need no accounting"
    return None


class ProductCheck:
    """The worker's processor for ``product:``/``variation:`` work while stock sync is on."""

    def __init__(self, stock: StockJournal, journal: Journal, woo: WooClient, dyn: DynaccountClient) -> None:
        self._stock, self._journal, self._woo, self._dyn = stock, journal, woo, dyn

    async def __call__(self, item: WorkItem) -> Outcome:
        rows = [r for r in await self._stock.by_owner(int(item.resource_id)) if r.target_qty is not None]
        if not rows:  # done, not skipped: there is nothing to retry
            return Outcome("done", "not an item whose stock the agent keeps; product changes need no accounting")
        product = await self._woo.get_product(int(item.resource_id))  # the delivery may be stale: read now
        shop_qty = product.stock_quantity
        # Sales since the last run took stock in the shop that Dynaccount has not booked yet: not a disagreement.
        pending = await sold_now(self._stock, self._dyn)
        sold = sum(pending.get(r.sku, 0) for r in rows)
        messages = [await self._compare(row, shop_qty, sold, item.key) for row in rows]
        return Outcome("done", "; ".join(messages))

    async def _compare(self, row: StockRow, shop_qty: int | None, sold: int, key: str) -> str:
        expected = (row.target_qty or 0) + (row.sold_qty or 0) - sold
        if shop_qty == expected or (shop_qty == 0 and expected < 0):
            await self._stock.agree(row.sku, shop_qty)
            return f"{row.sku}: shop stock {shop_qty} agrees with Dynaccount (less {sold} sold, not yet booked)"
        why = (f"the shop shows {shop_qty}, Dynaccount's stock less the sales not yet booked is {expected}: changed "
               "in the shop by hand; reported, not copied back — Dynaccount is master")
        await self._stock.disagree(row.sku, shop_qty, why)
        await self._journal.add_event(key, f"{row.sku}: {why}", level="warning",
                                      data={"sku": row.sku, "shop": shop_qty, "expected": expected})
        return f"{row.sku}: {why}"
