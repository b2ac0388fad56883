"""The stock room's reads: Dynaccount's products (paged) and the shop items carrying their SKUs.

One ``GET /products?sku=A,B,…`` finds products *and* variations (WC10 products controller: with ``sku``
the query covers ``product`` and ``product_variation``, exact match on each comma-separated value, and
the whole string is added as one more value). A SKU that itself contains a comma is asked alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import StockLevel
from agent.journal.stock import StockJournal
from agent.stock.diff import DynStock, sold_not_booked
from agent.woo.client import WooClient
from agent.woo.resources import Product

SKUS_PER_LOOKUP = 100  # one page of results (per_page=100) and a URL well under any server's limit


@dataclass
class ShopView:
    by_sku: dict[str, list[Product]] = field(default_factory=dict)
    families: dict[int, list[Product]] = field(default_factory=dict)  # parent id -> [parent, *variations]
    calls: int = 0


def dyn_stock(levels: Iterable[StockLevel]) -> list[DynStock]:
    """Stock-tracked products with a number; services (not ``is_stocked``) have no stock to show."""
    return [DynStock(lv.product_id_, lv.in_stock, lv.in_order, "" if lv.time_stock_change is None
                     else str(lv.time_stock_change)) for lv in levels if lv.is_stocked and lv.product_id_]  # fmt: skip


async def read_dynaccount(dyn: DynaccountClient) -> list[DynStock]:
    """Every product, paged (A-28: there is no "changed since" filter)."""
    return dyn_stock(await dyn.stock_levels())


def lookup_groups(skus: Sequence[str], size: int = SKUS_PER_LOOKUP) -> list[list[str]]:
    plain = [s for s in skus if "," not in s]
    groups = [plain[n:n + size] for n in range(0, len(plain), size)]
    return groups + [[s] for s in skus if "," in s]


async def find_in_shop(woo: WooClient, skus: Sequence[str]) -> ShopView:
    view = ShopView()
    for group in lookup_groups(skus):
        wanted = set(group)
        view.calls += 1
        for product in await woo.list_products(sku=",".join(group)):
            if product.sku in wanted:  # exact: the whole-string extra value must not leak in
                view.by_sku.setdefault(product.sku, []).append(product)
    await _families(woo, view)
    return view


async def _families(woo: WooClient, view: ShopView) -> None:
    """Parents that keep their variations' stock: their own SKU and their variations decide the number."""
    parents = {p.parent_id for items in view.by_sku.values() for p in items
               if p.manage_stock == "parent" and p.parent_id}  # fmt: skip
    for parent_id in sorted(parents):
        view.calls += 2
        view.families[parent_id] = [await woo.get_product(parent_id), *await woo.list_variations(parent_id)]



async def sold_now(stock: StockJournal, dyn: DynaccountClient) -> dict[str, int]:
    """Units per SKU sold in the shop on orders whose invoice Dynaccount has not booked, read *after*
    Dynaccount's stock: an order booked between the two reads is then at worst not subtracted (Dynaccount's
    stock moved, so the next run corrects it), never subtracted twice. The journal's link says booked only
    after Dynaccount booked, so an order whose invoice exists there is asked about (one read each)."""
    orders = [u.order for u in await stock.unbooked_orders()
              if u.invoice_id is None or not await dyn.invoice_booked(u.invoice_id)]  # fmt: skip
    return sold_not_booked(orders)
