"""Stock job at shop scale: 10,000 SKUs (simple products and variations, some keeping stock on the parent),
1 % changed in Dynaccount, over real HTTP against both sandboxes.

    .venv/bin/python bench/stock.py [--skus 10000] [--changed-percent 1]

Prints, and fails loudly (exit 1) when a figure is wrong:
* CPU time of one diff (the pure ``changed`` + ``plan_writes`` over every Dynaccount product; goal < 1 s),
  beside the CPU time of merely building the 10,000 input rows (the baseline in the same run);
* write calls per endpoint = ceil(changed items on it / 100), counted by the WooCommerce sandbox;
* Dynaccount read calls = the pages of one full read (no total count exists, A-7: a last full page needs
  one more, empty, read to be known as the last), counted by the Dynaccount sandbox;
* a second run with nothing changed: zero writes and zero shop reads.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.app import JOURNAL
from agent.dynaccount.assumptions import STOCK_PAGE_SIZE
from agent.journal.stock import StockJournal
from agent.sandbox.demo import Stack, demo_stack
from agent.sandbox.dynaccount.seed import add_product, set_stock
from agent.sandbox.woo.seed import CatalogueItem
from agent.sandbox.woo.shop import Product
from agent.stock.diff import DynStock, changed, plan_writes, shop_quantity
from agent.stock.shop import find_in_shop
from agent.web.stock import STOCK

VARIATIONS = 5  # per variable product
PARENT_MANAGED_EVERY = 10  # every 10th variable product keeps its variations' stock on the parent


def catalogue(skus: int) -> list[CatalogueItem]:
    """Half the SKUs simple products, half variations of variable products."""
    items: list[CatalogueItem] = []
    next_id = 1000
    simple = skus // 2
    for n in range(simple):
        items.append(CatalogueItem(Product(next_id, f"P{n}", Decimal("10"), f"S-{n:05d}"), manage_stock=True,
                                   stock_quantity=n % 50))
        next_id += 1
    parents = (skus - simple) // VARIATIONS
    for p in range(parents):
        parent_id, shared = next_id, p % PARENT_MANAGED_EVERY == 0
        kids = list(range(parent_id + 1, parent_id + 1 + VARIATIONS))
        items.append(CatalogueItem(Product(parent_id, f"V{p}", Decimal("10")), type="variable", variations=kids,
                                   manage_stock=shared, stock_quantity=None))
        for k, vid in enumerate(kids):
            product = Product(vid, f"V{p}-{k}", Decimal("10"), f"V-{p:04d}-{k}", parent_id=parent_id, parent_name=f"V{p}")
            items.append(CatalogueItem(product, type="variation", manage_stock="parent" if shared else True,
                                       stock_quantity=None if shared else (p + k) % 30))
        next_id += VARIATIONS + 1
    return items


def seed(stack: Stack, skus: int) -> None:
    """The shop and Dynaccount agree on every SKU before the first run."""
    items = catalogue(skus)
    stack.woo.state.items = {i.id: i for i in items}
    store = stack.dyn.store
    for product in store.tables["product"].values():
        product["is_stocked"] = False  # the demo's own products are not part of this shop
    for item in items:
        if not item.product.sku:
            continue
        qty = item.stock_quantity
        if item.manage_stock == "parent":
            qty = 1  # each variation 1 -> the parent holds the sum
        add_product(store, item.product.sku, item.product.name, Decimal(10), stocked=True, in_stock=Decimal(qty or 0))
    for item in items:
        if item.type == "variable" and item.manage_stock is True:
            item.stock_quantity = VARIATIONS  # sum of its variations' 1s


def change(stack: Stack, percent: float) -> list[str]:
    skus = sorted(p["product_id_"] for p in stack.dyn.store.tables["product"].values() if p.get("is_stocked"))
    chosen = sorted(random.Random(13).sample(skus, max(1, round(len(skus) * percent / 100))))
    for sku in chosen:
        row = stack.dyn.store.find("product", "product_id_", sku)
        set_stock(stack.dyn.store, sku, row["in_stock"] + 7)
    return chosen


def expected_writes(stack: Stack, chosen: list[str]) -> Counter[str]:
    items = {i.product.sku: i for i in stack.woo.state.items.values() if i.product.sku}
    per_endpoint: Counter[str] = Counter()
    owners: set[int] = set()
    for sku in chosen:
        item = items[sku]
        if item.manage_stock == "parent":
            owners.add(item.product.parent_id)
        elif item.type == "variation":
            per_endpoint[f"batch variations/{item.product.parent_id}"] += 1
        else:
            per_endpoint["batch products"] += 1
    per_endpoint["batch products"] += len(owners)
    return Counter({k: math.ceil(v / 100) for k, v in per_endpoint.items()})


def dyn_levels(stack: Stack) -> list[DynStock]:
    return [DynStock(p["product_id_"], p["in_stock"], p["in_order"], str(p["time_stock_change"]))
            for p in stack.dyn.store.tables["product"].values() if p.get("is_stocked")]


async def diff_cpu(stack: Stack) -> tuple[float, float, int, int]:
    """CPU of one diff over the real inputs of the coming run; the shop lookup (I/O) is done first, untimed."""
    levels = dyn_levels(stack)
    memory = await StockJournal(stack.app[JOURNAL]).memory()
    cands = changed(levels, memory, "in_stock")
    view = await find_in_shop(stack.app[STOCK]._woo, [c.sku for c in cands])
    t0 = time.process_time()
    rows = [DynStock(lv.sku, lv.in_stock, lv.in_order, lv.time) for lv in levels]
    baseline = time.process_time() - t0
    start = time.process_time()
    quantities = {lv.sku: shop_quantity(lv, "in_stock") for lv in rows}
    cands = changed(rows, memory, "in_stock")
    plan = plan_writes(cands, view.by_sku, quantities, view.families)
    return time.process_time() - start, baseline, len(rows), len(plan.updates)


async def bench(skus: int, percent: float) -> list[str]:
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        async with demo_stack(Path(tmp), delivery_delay=0.0, autostart=False) as stack:
            seed(stack, skus)
            room, woo_calls, dyn_stats = stack.app[STOCK], stack.woo.state.calls, stack.dyn.stats
            first = await room.sync(reason="bench: first run")
            print(f"first run:  {first.compared} Dynaccount products, {first.changed} new to the journal, "
                  f"{first.written} written, {first.shop_reads} shop reads, {first.errors} errors "
                  f"({first.finished - first.started if first.finished else 0:.1f} s wall)")
            if first.written or first.errors:
                failures.append(f"first run: shop and Dynaccount agree, yet {first.written} written, {first.errors} errors")
            chosen = change(stack, percent)
            cpu, baseline, compared, planned = await diff_cpu(stack)
            print(f"diff CPU:   {cpu * 1000:.1f} ms for {compared} products, {planned} writes planned (goal < 1000 ms); "
                  f"building the {compared} input rows alone: {baseline * 1000:.1f} ms (ratio {cpu / max(baseline, 1e-9):.1f}x)")
            if cpu >= 1.0:
                failures.append(f"diff CPU {cpu:.3f} s >= 1 s")
            woo_calls.clear()
            requests_before = dyn_stats["requests"]
            second = await room.sync(reason="bench: 1% changed")
            dyn_reads = dyn_stats["requests"] - requests_before
            got = Counter({k: v for k, v in woo_calls.items() if k == "batch products" or k.startswith("batch variations/")})
            want = expected_writes(stack, chosen)
            print(f"1% changed: {len(chosen)} SKUs changed in Dynaccount, {second.changed} found changed, "
                  f"{second.written} shop items written in {sum(got.values())} calls over {len(got)} endpoints "
                  f"(expected {sum(want.values())}: ceil(changed/100) per endpoint), {second.shop_reads} shop reads")
            if got != want:
                failures.append(f"write calls per endpoint {dict(got)} != expected {dict(want)}")
            if second.changed != len(chosen) or second.errors:
                failures.append(f"changed {second.changed} != {len(chosen)} or errors {second.errors}")
            total = len(stack.dyn.store.tables["product"])
            pages = total // STOCK_PAGE_SIZE + 1
            print(f"Dynaccount read calls: {dyn_reads} for {total} products (page size {STOCK_PAGE_SIZE}: "
                  f"ceil = {math.ceil(total / STOCK_PAGE_SIZE)}; + 1 empty page only when the last page is full: {pages})")
            if dyn_reads != pages:
                failures.append(f"Dynaccount read calls {dyn_reads} != {pages}")
            woo_calls.clear()
            third = await room.sync(reason="bench: nothing changed")
            writes = sum(v for k, v in woo_calls.items() if k.startswith("batch"))
            print(f"nothing changed: {third.changed} changed, {writes} write calls, {third.shop_reads} shop reads")
            if writes or third.changed or third.shop_reads:
                failures.append(f"second run with nothing changed wrote {writes}, read the shop {third.shop_reads} times")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    args = parser.parse_args()
    failures = asyncio.run(bench(args.skus, args.changed_percent))
    for f in failures:
        print(f"FAIL: {f}")
    print("result: " + ("every figure as expected" if not failures else "WRONG FIGURES (see above)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
