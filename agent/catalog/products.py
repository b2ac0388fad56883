"""Shop products → Dynaccount products by product number (SKU), compared before written (issue 15).

One shop item gives one Dynaccount product; a variable product gives one per variation (its own SKU), never one
for the parent. Nothing is deleted in Dynaccount: a product deleted in the shop leaves its Dynaccount product
as it is, and the item says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.catalog.rules import BadData, differs, product_fields, product_number
from agent.catalog.shop import ShopFactsCache, read_product, read_variations
from agent.dynaccount import assumptions as A
from agent.dynaccount.client import DynaccountClient
from agent.dynaccount.models import ProductFields
from agent.journal import WorkItem
from agent.keyedlock import KeyedLock
from agent.outcomes import Outcome
from agent.plan.settings import ProductSettings
from agent.woo.client import WooClient

COLUMNS = ("id", "product_id_", "name", "price", "product_group_name", "unit_name", "weight", "txt")
DELETED = "deleted in the shop: the Dynaccount product is kept (the agent never deletes in Dynaccount)"


@dataclass(frozen=True)
class ItemResult:
    shop_id: int
    number: str | None
    state: str  # created | updated | unchanged | failed | skipped
    reason: str


class DynProducts:
    """Dynaccount's products by number: looked up one by one, or all read once (paged) for a bulk run."""

    def __init__(self, dyn: DynaccountClient) -> None:
        self.dyn = dyn
        self._all: dict[str, dict[str, Any]] | None = None
        self.writes = 0

    async def preload(self) -> None:
        rows = await self.dyn.get_all("product", select=COLUMNS, page_size=A.STOCK_PAGE_SIZE)
        self._all = {str(r["product_id_"]): r for r in rows}

    async def get(self, number: str) -> dict[str, Any] | None:
        if self._all is not None:
            return self._all.get(number)
        rows = await self.dyn.get("product", select=COLUMNS, filters={"product_id_": number})
        return rows[0] if rows else None

    async def write(self, fields: ProductFields, row_id: int | None) -> None:
        form = {k: v for k, v in fields.form().items() if k in A.PRODUCT_WRITABLE}
        row = await self.dyn.put("product", form, row_id)
        self.writes += 1
        if self._all is not None:
            self._all[fields.product_id_] = {**form, "id": row.get("id", row_id)}


class ProductSync:
    """Decides and applies one shop item; the worker's processor for ``product:``/``variation:`` work."""

    def __init__(self, woo: WooClient, dyn: DynaccountClient, facts: ShopFactsCache,
                 settings: ProductSettings) -> None:  # fmt: skip
        self._woo, self.dyn, self.facts, self.settings = woo, dyn, facts, settings
        # A parent's product.updated and its variation's own delivery may reach the same SKU at once.
        self._numbers = KeyedLock()

    async def __call__(self, item: WorkItem) -> Outcome:
        if self.settings.sync == "never":
            return Outcome("skipped", "[products] sync = never: products are not synced")
        product = await read_product(self._woo, int(item.resource_id))
        if product is None or product.get("status") == "trash":
            return Outcome("done", DELETED)
        results = await self.sync_family(product, DynProducts(self.dyn), dry_run=False, check_duplicates=True)
        text = "; ".join(f"{r.number or '#' + str(r.shop_id)}: {r.state}, {r.reason}" for r in results)
        if any(r.state == "failed" for r in results):
            return Outcome("held", text)
        return Outcome("done", text or "a variable product without variations: nothing to sync")

    async def sync_family(self, product: dict[str, Any], dyn: DynProducts, *, dry_run: bool,
                          check_duplicates: bool, seen: dict[str, int] | None = None) -> list[ItemResult]:  # fmt: skip
        """A simple product or a variation alone; a variable product as its variations."""
        if product.get("type") == "variable":
            variations = await read_variations(self._woo, int(product["id"]))
            return [await self.sync_one(v, product, dyn, dry_run=dry_run, check_duplicates=check_duplicates,
                                        seen=seen) for v in variations]  # fmt: skip
        parent = None
        if product.get("type") == "variation" and product.get("parent_id"):
            parent = await read_product(self._woo, int(product["parent_id"]))
        return [await self.sync_one(product, parent, dyn, dry_run=dry_run, check_duplicates=check_duplicates,
                                    seen=seen)]  # fmt: skip

    async def sync_one(self, product: dict[str, Any], parent: dict[str, Any] | None, dyn: DynProducts, *,
                       dry_run: bool, check_duplicates: bool, seen: dict[str, int] | None = None) -> ItemResult:
        shop_id = int(product["id"])
        number = product_number(product, self.settings)
        try:
            fields = product_fields(product, parent, await self.facts.get(), self.settings)
            real_sku = bool(str(product.get("sku") or "").strip())  # a no_sku number is the agent's own
            await self._no_duplicate(fields.product_id_, shop_id, check_duplicates and real_sku, seen)
        except BadData as exc:
            return ItemResult(shop_id, number, "failed", str(exc))
        async with self._numbers.hold(fields.product_id_):
            return await self._apply(shop_id, fields, dyn, dry_run)

    async def _no_duplicate(self, number: str, shop_id: int, ask_shop: bool, seen: dict[str, int] | None) -> None:
        if seen is not None:
            other = seen.setdefault(number, shop_id)
            if other != shop_id:
                raise BadData(f"SKU {number} is on two shop items ({other} and {shop_id}): make it unique in the shop")
        if ask_shop:
            found = await self._woo.request("GET", "products", params={"sku": number})
            ids = sorted({int(p["id"]) for p in found if isinstance(p, dict) and p.get("sku") == number})
            if len(ids) > 1:
                raise BadData(f"SKU {number} is on {len(ids)} shop items ({', '.join(map(str, ids))}): "
                              "make it unique in the shop")

    async def _apply(self, shop_id: int, fields: ProductFields, dyn: DynProducts, dry_run: bool) -> ItemResult:
        number = fields.product_id_
        held = await dyn.get(number)
        would = "would be " if dry_run else ""
        if held is None:
            if not dry_run:
                await dyn.write(fields, None)
            return ItemResult(shop_id, number, "created", f"{would}created in Dynaccount")
        changed = differs(fields, held)
        if not changed:
            return ItemResult(shop_id, number, "unchanged", "Dynaccount already holds it: no call")
        if self.settings.sync != "create_and_update":
            return ItemResult(shop_id, number, "unchanged",
                              f"differs in {', '.join(changed)}, but [products] sync = create_only leaves it")
        if not dry_run:
            await dyn.write(fields, int(held["id"]))
        return ItemResult(shop_id, number, "updated", f"{would}updated: {', '.join(changed)}")
